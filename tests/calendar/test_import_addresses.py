"""External calendars are fetched from public addresses only: loopback, private,
link-local and reserved addresses are refused in every spelling and after every redirect,
the connection goes to the checked address, size and time are bounded, and the user sees a
plain message. The suite's loopback calendar server works through a test-only setting."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config import ConfigurationError, ProductionConfig, TestConfig, check_settings
from sharehub.calendar import imports
from sharehub.calendar.models import ExternalBusy
from sharehub.core import net
from sharehub.core.db import utcnow
from sharehub.core.errors import ValidationError

REFUSED = "calendars are fetched only from public internet addresses"
LOOPBACK = ("127.", "::1", "::ffff:127.")


def ics() -> bytes:
    start = (utcnow() + timedelta(days=10)).strftime("%Y%m%dT%H%M%SZ")
    end = (utcnow() + timedelta(days=10, hours=2)).strftime("%Y%m%dT%H%M%SZ")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:a@t\r\nDTSTAMP:{start}\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


class CalendarServer:
    """A loopback HTTP server: `routes` maps a path to (status, headers, body, delay)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, tuple] = {}
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append((self.path, self.headers.get("Host", "")))
                status, headers, body, delay = server.routes.get(self.path, (404, {}, b"", 0))
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = CalendarServer()
    s.routes["/cal.ics"] = (200, {"Content-Type": "text/calendar"}, ics(), 0)
    yield s
    s.close()


@pytest.fixture
def second_server():
    """A second loopback server on 127.0.0.2, which the tests treat as a public host."""
    s = CalendarServer("127.0.0.2")
    yield s
    s.close()


@pytest.fixture(autouse=True)
def only_loopback_connections(monkeypatch, english):
    """No test here may open a connection beyond this machine, whatever the code does."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        host = str(address[0])
        assert host.startswith(LOOPBACK) or host == "localhost", f"connection to {host}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture
def production_rule(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALENDAR_IMPORT_ALLOW_PRIVATE", False)


@pytest.fixture
def unit(db, lab, make_listing):
    return make_listing(lab).units[0]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "0x7f000001", "2130706433", "127.1", "0177.0.0.1"],
)
def test_loopback_in_any_spelling_is_refused(db, server, production_rule, host):
    with pytest.raises(ValidationError) as caught:
        imports.fetch(f"http://{host}:{server.port}/cal.ics")
    assert REFUSED in str(caught.value.message)
    assert server.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "[::1]",
        "[::ffff:127.0.0.1]",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "[fe80::1]",
        "[fd00::1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
    ],
)
def test_private_link_local_and_reserved_addresses_are_refused(db, production_rule, host):
    with pytest.raises(ValidationError) as caught:
        imports.fetch(f"http://{host}:8080/cal.ics")
    assert REFUSED in str(caught.value.message)


def pretend_public(monkeypatch, names: dict[str, str]):
    """127.0.0.2 plays a public host (optionally under a name); everything else is real."""
    real_resolve = net.resolve
    monkeypatch.setattr(
        net,
        "resolve",
        lambda host, port: [names[host]] if host in names else real_resolve(host, port),
    )
    real_public = net.is_public_address
    monkeypatch.setattr(net, "is_public_address", lambda a: a == "127.0.0.2" or real_public(a))


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:{port}/cal.ics", "http://localhost:{port}/cal.ics"]
)
def test_a_redirect_to_loopback_is_refused(
    db, server, second_server, production_rule, monkeypatch, target
):
    pretend_public(monkeypatch, {})
    location = target.format(port=server.port)
    second_server.routes["/moved.ics"] = (302, {"Location": location}, b"", 0)
    with pytest.raises(ValidationError) as caught:
        imports.fetch(f"http://127.0.0.2:{second_server.port}/moved.ics")
    assert REFUSED in str(caught.value.message)
    assert [path for path, _host in second_server.requests] == ["/moved.ics"]
    assert server.requests == []


def test_public_host_is_fetched_at_its_checked_address_through_redirects(
    db, second_server, production_rule, monkeypatch, unit, lab_manager
):
    pretend_public(monkeypatch, {"calendar.example.test": "127.0.0.2"})
    port = second_server.port
    second_server.routes["/old.ics"] = (301, {"Location": "/new.ics"}, b"", 0)
    second_server.routes["/new.ics"] = (200, {"Content-Type": "text/calendar"}, ics(), 0)
    url = f"http://calendar.example.test:{port}/old.ics"
    calendar = imports.add_calendar(lab_manager, unit, name="公开日历", url=url)
    assert len(calendar.busy) == 1
    assert second_server.requests == [
        ("/old.ics", f"calendar.example.test:{port}"),
        ("/new.ics", f"calendar.example.test:{port}"),
    ]


def test_too_many_redirects_are_refused(db, second_server, production_rule, monkeypatch):
    pretend_public(monkeypatch, {})
    second_server.routes["/loop.ics"] = (302, {"Location": "/loop.ics"}, b"", 0)
    with pytest.raises(ValidationError):
        imports.fetch(f"http://127.0.0.2:{second_server.port}/loop.ics")
    assert len(second_server.requests) == imports.FETCH_LIMITS.max_redirects + 1


def test_size_and_time_are_bounded(db, server, monkeypatch):
    big = b"BEGIN:VCALENDAR\r\n" + b"X" * (imports.MAX_ICS_BYTES + 10)
    server.routes["/big.ics"] = (200, {}, big, 0)
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        imports.fetch(f"http://127.0.0.1:{server.port}/big.ics")
    monkeypatch.setattr(
        imports, "FETCH_LIMITS", net.Limits(max_bytes=imports.MAX_ICS_BYTES, timeout=0.3)
    )
    server.routes["/slow.ics"] = (200, {}, ics(), 1.5)
    started = time.monotonic()
    with pytest.raises(ValidationError, match="took too long"):
        imports.fetch(f"http://127.0.0.1:{server.port}/slow.ics")
    assert time.monotonic() - started < 1.5


def test_the_user_sees_a_plain_message_without_internal_details(
    client, db, unit, lab_manager, login, server, production_rule
):
    login(lab_manager)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    for url, expected in [
        (f"http://127.0.0.1:{server.port}/cal.ics", REFUSED),
        (f"http://localhost:{port}/cal.ics", REFUSED),
    ]:
        page = client.post(
            "/lab/calendars",
            data={"unit_id": unit.id, "name": "x", "url": url},
            headers={"Accept-Language": "en"},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert expected in page
        assert "Errno" not in page and "127.0.0.1" not in page
    assert db.session.scalar(sa.select(sa.func.count(ExternalBusy.id))) == 0
    assert server.requests == []


def test_connection_errors_are_not_shown(db, unit, lab_manager):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ValidationError) as caught:
        imports.add_calendar(lab_manager, unit, name="x", url=f"http://127.0.0.1:{port}/c.ics")
    message = str(caught.value.message)
    assert "could not be fetched" in message
    assert "Errno" not in message and "refused" not in message and str(port) not in message


def test_loopback_is_a_test_only_setting():
    assert TestConfig.CALENDAR_IMPORT_ALLOW_PRIVATE is True
    assert ProductionConfig.CALENDAR_IMPORT_ALLOW_PRIVATE is False
    good = {"ENV_NAME": "production", "SECRET_KEY": "k" * 48}
    check_settings(good)
    with pytest.raises(ConfigurationError, match="CALENDAR_IMPORT_ALLOW_PRIVATE"):
        check_settings({**good, "CALENDAR_IMPORT_ALLOW_PRIVATE": True})
