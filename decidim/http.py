"""Every request this server makes to a Decidim (the OAuth exchange, the API) goes through BoundedSession: bounded in
time as a whole and in size, and redirects not followed. A broken or hostile Decidim can then neither hold one of
the process's few request slots for ever (an answer trickling in a byte at a time never trips a per-read timeout),
nor fill its memory, nor send our request (a code and the client secret, on the token endpoint) somewhere else."""

import time

import requests
import urllib3

# What Decidim answers here (a token, a profile, one meeting) is a few kilobytes.
MAX_ANSWER_BYTES = 256 * 1024


class AnswerTooBig(requests.RequestException):
    pass


class BoundedSession(requests.Session):
    def __init__(self, *, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        """The answer, whole `timeout` seconds after the request (checked between reads, each read waiting at most
        `timeout` too) and within MAX_ANSWER_BYTES (decompressed); a redirect is
        returned as it is (its 3xx status is not what any caller accepts). Raises requests.Timeout past the
        deadline, AnswerTooBig past the size."""
        deadline = time.monotonic() + self.timeout
        kwargs.update(timeout=self.timeout, allow_redirects=False, stream=True)
        response = super().request(method, url, **kwargs)
        chunks, size = [], 0
        with response:
            try:
                while chunk := response.raw.read1(64 * 1024, decode_content=True):
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise AnswerTooBig(f"{url} answered more than {MAX_ANSWER_BYTES} bytes", response=response)
                    if time.monotonic() > deadline:
                        raise requests.Timeout(f"{url} took more than {self.timeout} s to answer", response=response)
                    chunks.append(chunk)
            except urllib3.exceptions.ReadTimeoutError:  # the raw stream raises urllib3's errors, not requests'
                raise requests.Timeout(f"{url} took more than {self.timeout} s to answer") from None
            except urllib3.exceptions.HTTPError as exc:
                raise requests.ConnectionError(f"{url}: {exc}") from None
        response._content = b"".join(chunks)  # what response.json() and .text read
        return response
