"""One scenario's world: its scene, and the work on it split by kind: `people` arranges who is in the scenario,
`calls` makes LLM calls, `books` asks questions of Ops-Center, the ledger, the cache and billing, and `purchases`
brings money in."""

from collections.abc import Callable

from creditflow.books import Books
from creditflow.calls import Calls
from creditflow.people import People
from creditflow.purchases import Purchases
from creditflow.scene import Scene, Undo
from creditflow.services import Services


class World(Scene):
    def __init__(self, services: Services, add_cleanup: Callable[[str, Undo], None] | None = None):
        super().__init__(services, add_cleanup)
        self.books = Books(self)
        self.people = People(self, self.books)
        self.calls = Calls(self, self.books)
        self.purchases = Purchases(self)
