"""live/thread_redis.py: the socket write pool's threads run Redis scripts on connections they keep."""

import threading

import pytest
import redis
from django.conf import settings
from redis.exceptions import ResponseError

from live import thread_redis

pytestmark = [pytest.mark.needs_redis]

SCRIPT = "return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}"


def in_thread(fn, keep=True):
    """fn() in a new thread (keeping its connections, as a write pool's thread does); its result or its error."""
    out = {}

    def run():
        if keep:
            thread_redis.keep_connections()
        try:
            out["result"] = fn()
        except Exception as exc:  # handed back to the test
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    if "error" in out:
        raise out["error"]
    return out["result"]


@pytest.fixture
def client():
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("threadredis:n")
    yield client
    client.delete("threadredis:n")
    client.connection_pool.disconnect()


def test_a_kept_connection_answers_what_the_client_does_and_serves_every_call(client):
    script = client.register_script(SCRIPT)

    def calls():
        first = thread_redis.run_script(script, ["threadredis:n"], ["a"], client)
        connection = thread_redis.kept()[client.connection_pool]
        second = thread_redis.run_script(script, ["threadredis:n"], ["b"], client)
        return first, second, connection, thread_redis.kept()[client.connection_pool]

    first, second, connection, still = in_thread(calls)
    assert first == [b"threadredis:n", b"a", 1] and second == [b"threadredis:n", b"b", 2]
    assert still is connection  # one connection for both, never through the pool's
    assert script(keys=["threadredis:n"], args=["c"], client=client) == [b"threadredis:n", b"c", 3]
    # A thread that keeps none goes through the client.
    assert in_thread(lambda: (thread_redis.run_script(script, ["threadredis:n"], ["d"], client), thread_redis.kept()),
                     keep=False) == ([b"threadredis:n", b"d", 4], None)


def test_a_flushed_script_is_loaded_again_and_a_cut_connection_is_replaced(client):
    script = client.register_script(SCRIPT)

    def calls():
        assert thread_redis.run_script(script, ["threadredis:n"], ["a"], client)[2] == 1
        client.script_flush()  # Redis restarted, or flushed: NOSCRIPT, then SCRIPT LOAD and the call again
        assert thread_redis.run_script(script, ["threadredis:n"], ["b"], client)[2] == 2
        kept = thread_redis.kept()[client.connection_pool]
        host, port = kept._sock.getsockname()[:2]
        assert client.client_kill_filter(addr=f"{host}:{port}") == 1  # cut, as a Redis restart would
        assert thread_redis.run_script(script, ["threadredis:n"], ["c"], client)[2] == 3  # sent again, on a new one
        assert thread_redis.kept()[client.connection_pool] is not kept
        return True

    assert in_thread(calls)


def test_a_failing_script_raises_and_its_connection_is_dropped(client):
    broken = client.register_script("return redis.call('NOSUCHCOMMAND')")

    def calls():
        with pytest.raises(ResponseError):
            thread_redis.run_script(broken, ["threadredis:n"], [], client)
        return client.connection_pool in thread_redis.kept()

    assert in_thread(calls) is False


def test_the_socket_write_pool_threads_keep_their_connections(settings):
    from asgiref.sync import async_to_sync

    from live import consumers

    settings.LIVE_WRITE_THREADS = 2
    consumers._write_pool.clear()
    try:
        assert async_to_sync(consumers.in_write_pool(lambda: thread_redis.kept() is not None))()
    finally:
        for pool in consumers._write_pool:
            pool.shutdown()
        consumers._write_pool.clear()
