"""The node protocol's bodies (docs/ARCHITECTURE.md, steps 2-4): the models the node parses, re-exported."""

from workers.task_document import Eip712Block, SimulationBlock, TaskDocument, UpdateAccepted

__all__ = ["Eip712Block", "SimulationBlock", "TaskDocument", "UpdateAccepted"]
