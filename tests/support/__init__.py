"""Test helpers shared by unit, integration and e2e tests (real local servers, no mocks)."""

from tests.support.fault_server import FaultServer, RecordedRequest, Reply

__all__ = ["FaultServer", "RecordedRequest", "Reply"]
