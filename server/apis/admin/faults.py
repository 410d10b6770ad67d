"""The admin API's fault rules (`/_twin/faults`, specs/admin.yaml); the layer is pipeline/faults."""

from __future__ import annotations

from apitwin.pipeline.faults import FaultBook
from apitwin.pipeline.http import reply


class FaultHandlers:
    twin = None  # set by AdminHandlers

    def _book(self) -> FaultBook:
        return FaultBook(self.twin.world())

    async def list_faults(self):
        return reply({"faults": self._book().all()})

    async def add_fault(self, body: dict):
        return reply(self._book().add(body), 201)

    async def clear_faults(self):
        return reply({"cleared": self._book().clear()})

    async def get_fault(self, fault_id: int):
        return reply(self._book().get(fault_id))

    async def delete_fault(self, fault_id: int):
        return reply(self._book().delete(fault_id))
