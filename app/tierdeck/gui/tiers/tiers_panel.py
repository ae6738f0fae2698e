"""The active profile's tiers as a column of cards."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QScrollArea, QVBoxLayout, QWidget

from tierdeck.core.profiles import Tier
from tierdeck.core.servers.events import ServerStatus
from tierdeck.gui.tiers.card_model import RUNNING_STATES, card_model
from tierdeck.gui.tiers.tier_card import TierCard


class TiersPanel(QGroupBox):
    activate = Signal(str)
    stop = Signal(str)
    selected = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Tiers", parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        inner = QWidget()
        self._lay = QVBoxLayout(inner)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.addStretch(1)
        self.scroll.setWidget(inner)
        outer.addWidget(self.scroll)
        self.cards: dict[str, TierCard] = {}
        self.tiers: dict[str, Tier] = {}
        self.partners: dict[str, list[str]] = {}
        self.engine_notes: dict[str, str] = {}  # tier -> the engine it shares (the profile's)
        self.current: str | None = None

    def set_tiers(self, tiers: dict[str, Tier], swap_partners: dict[str, list[str]] | None = None,
                  engine_notes: dict[str, str] | None = None) -> None:
        """swap_partners: tier -> the tiers it swaps with (starting it stops them);
        engine_notes: tier -> the shared engine it runs on (card_model.engine_notes)."""
        self.partners = dict(swap_partners or {})
        self.engine_notes = dict(engine_notes or {})
        for card in self.cards.values():
            card.setParent(None)
            card.deleteLater()
        self.cards = {}
        self.tiers = dict(tiers)
        for i, (name, _tier) in enumerate(self.tiers.items()):
            card = TierCard(name)
            card.activate.connect(self.activate)
            card.stop.connect(self.stop)
            card.selected.connect(self.select)
            self._lay.insertWidget(i, card)
            self.cards[name] = card
        self.refresh({}, {}, {}, set())
        first = next(iter(self.tiers), None)
        self.current = None
        if first:
            self.select(first)

    def select(self, name: str) -> None:
        if name not in self.cards:
            return
        changed = name != self.current
        self.current = name
        for n, c in self.cards.items():
            c.set_selected(n == name)
        if changed:
            self.selected.emit(name)

    def refresh(
        self,
        statuses: dict[str, ServerStatus],
        speeds: dict[str, float | None],
        planned: dict[str, int | None],
        busy: set[str],
        errors: dict[str, str] | None = None,
        gateway_notes: dict[str, str] | None = None,
    ) -> None:
        """gateway_notes: tier -> its engine sharing / in-flight line (gui.gateway_model)."""
        running = {n for n, s in statuses.items() if s.state in RUNNING_STATES}
        for name, card in self.cards.items():
            tier = self.tiers[name]
            m = card_model(
                tier,
                statuses.get(name),
                planned_bytes=planned.get(name),
                tokens_per_s=speeds.get(name),
                other_running=bool(running & set(self.partners.get(name, []))),
                error=(errors or {}).get(name),
                gateway_note=(gateway_notes or {}).get(name, ""),
                engine_note=self.engine_notes.get(name, ""),
            )
            card.show_model(m, busy=name in busy)
