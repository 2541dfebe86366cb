"""HTTP/1.1 on the wire for `etl.transport`: a request written out, an answer read in.

httptools (llhttp, in C) parses answers; it costs a tenth of the CPU h11 did per exchange,
which over the 2,000 requests of a million stock rows is a third of a second. It does not
know what was asked, so a `HEAD` request (whose answer has headers but no body) is refused
rather than read wrong; Konnect is only asked with GET, PUT and POST.
"""

from __future__ import annotations

import re

import httptools
import httpx

# RFC 9110 token characters for a header name; a value may hold neither a line break nor NUL.
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")


class UnreadableAnswer(httpx.RemoteProtocolError):
    """The server answered, in bytes that are not HTTP/1.1 as we read them: the request may
    have been applied, as with any answer lost."""


def request_bytes(request: httpx.Request, body: bytes) -> bytes:
    """The whole request as sent: head, then the body (chunked if the headers say so)."""
    if request.method == "HEAD":
        raise httpx.LocalProtocolError("HEAD is not supported by this transport", request=request)
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    chunked = False
    for name, value in request.headers.raw:
        if not _NAME.fullmatch(name) or _BAD_VALUE.search(value):
            problem = f"illegal header {name!r}: a name or value a request cannot carry"
            raise httpx.LocalProtocolError(problem, request=request)
        chunked = chunked or (name.lower() == b"transfer-encoding" and b"chunked" in value.lower())
        lines.append(name + b": " + value)
    if chunked:  # the body is whole already: one chunk, then the last
        body = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class Answer:
    """One answer as it arrives. `complete` once it is whole; `problem` says why it cannot
    be (bytes that are not HTTP, a body cut short); `extra` that the server sent more after
    it, so the connection must not carry another request."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = self.extra = False
        self.problem: str | None = None
        self.unreadable = False  # `problem` is bytes we could not parse, not a close
        self._head_done = False
        self._framed = False  # a content-length or chunked body: it does not end at a close
        self._keep_alive = False  # read when the answer ends: the parser forgets it after
        self.version = "1.1"
        # a line ending in LF alone is read as with CR LF, as h11 did (no proxy or server
        # answering so is then taken for one that did not answer)
        self._parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)

    def feed(self, data: bytes) -> None:
        if self.complete:
            self.extra = True
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.problem = "the server switched protocols"
        except httptools.HttpParserError as exc:
            if self.complete:  # what follows the answer is not for us
                self.extra = True
            else:
                self.problem, self.unreadable = f"the answer is not HTTP/1.1 ({exc})", True

    def closed(self) -> None:
        """The server closed its side: the end of a body sent without a length."""
        if self.complete or self.problem:
            return
        if self._head_done and not self._framed:
            self.complete = True
        elif self._head_done:
            self.problem = "the server closed part-way through its answer"
        else:
            self.problem = "the server closed without answering"

    @property
    def keep_alive(self) -> bool:
        """Whole, nothing after it, and the server did not say it closes the connection."""
        return self.complete and not self.extra and self._keep_alive

    @property
    def http_version(self) -> bytes:
        return b"HTTP/" + self.version.encode("ascii")

    # httptools callbacks; once the answer is whole, what follows (a second answer in the
    # same segment: `409` then `200`) only marks the connection, it never mixes into this one
    def on_message_begin(self) -> None:
        if self.complete:
            self.extra = True

    def on_status(self, reason: bytes) -> None:
        if not self.complete:
            self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete or self._head_done:  # after the head: a chunked body's trailer
            return
        self.headers.append((name, value))
        lower = name.lower()
        chunked = lower == b"transfer-encoding" and b"chunked" in value.lower()
        if chunked or lower == b"content-length":
            self._framed = True

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        self.status = self._parser.get_status_code()
        self.version = self._parser.get_http_version()
        self._head_done = True

    def on_body(self, data: bytes) -> None:
        if not self.complete:
            self.body.append(data)

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self.status < 200:  # 100 Continue and the like: the answer itself follows
            self.reason, self.headers, self.body = b"", [], []
            self._head_done = self._framed = False
            return
        self._keep_alive = self._parser.should_keep_alive()
        self.complete = True
