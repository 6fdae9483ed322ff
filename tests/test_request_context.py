"""Services that log who and from where find the request through our own context variable."""

import threading

from django.test import RequestFactory

from kernel.request_context import CurrentRequestMiddleware, current_request


def test_there_is_no_request_outside_one():
    assert current_request() is None


def test_the_request_is_seen_while_it_is_served_and_gone_after():
    seen = []
    request = RequestFactory().get("/anything/", REMOTE_ADDR="10.1.2.3")
    middleware = CurrentRequestMiddleware(lambda r: seen.append(current_request()) or "response")
    assert middleware(request) == "response"
    assert seen == [request]
    assert current_request() is None


def test_the_request_is_gone_after_a_view_that_raises():
    request = RequestFactory().get("/")

    def boom(_request):
        raise RuntimeError("view failed")

    try:
        CurrentRequestMiddleware(boom)(request)
    except RuntimeError:
        pass
    assert current_request() is None


def test_two_threads_each_see_their_own_request():
    factory = RequestFactory()
    barrier = threading.Barrier(2)
    seen = {}

    def view(request):
        barrier.wait(timeout=5)  # both requests are being served at once
        seen[request.path] = current_request().path
        return "ok"

    threads = [
        threading.Thread(target=CurrentRequestMiddleware(view), args=(factory.get(path),))
        for path in ("/a/", "/b/")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert seen == {"/a/": "/a/", "/b/": "/b/"}


def test_a_security_event_recorded_in_a_request_carries_its_address(db):
    from kernel.models import SecurityEvent, SecurityEventKind
    from kernel.services import security_event_record

    def view(_request):
        security_event_record(kind=SecurityEventKind.EXPORT_STARTED, username="someone")
        return "ok"

    request = RequestFactory().get("/", REMOTE_ADDR="10.9.8.7", HTTP_USER_AGENT="Ward PC")
    CurrentRequestMiddleware(view)(request)
    event = SecurityEvent.objects.get()
    assert event.ip_address == "10.9.8.7"
    assert event.user_agent == "Ward PC"
