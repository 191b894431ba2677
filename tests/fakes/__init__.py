"""Local TLS fakes of Microsoft services for tests (nothing in tests talks to Microsoft)."""

from .tenant import FakeApp, FakeTenant, Fault, RecordedRequest, SignIn

__all__ = ["FakeApp", "FakeTenant", "Fault", "RecordedRequest", "SignIn"]
