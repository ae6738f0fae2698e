"""A stacked horizontal bar: weights, KV, recurrent, compute, overhead, free, budget line."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from tierdeck.core.units import fmt_bytes
from tierdeck.gui.plan.plan_model import BarModel


class PlanBar(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model: BarModel | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(78)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(600, 78)

    def set_model(self, model: BarModel | None) -> None:
        self.model = model
        self.setToolTip("\n".join(model.legend) if model else "")
        self.update()

    def paintEvent(self, _e) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        m = self.model
        w = self.width() - 2
        bar = QRectF(1, 20, w, 26)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(bar, 4, 4)
        if m is None:
            p.setPen(text)
            p.drawText(bar, Qt.AlignmentFlag.AlignCenter, "no plan")
            p.end()
            return
        p.setPen(text)
        p.drawText(QRectF(1, 0, w, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   m.title)
        scale = w / m.capacity_bytes
        x = bar.left()
        for seg in m.segments:
            sw = seg.bytes * scale
            color = QColor(*seg.rgb)
            if seg.label == "free":
                color.setAlpha(90)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRect(QRectF(x, bar.top() + 1, max(sw, 0.5), bar.height() - 2))
            if sw > 60:
                p.setPen(QColor(20, 20, 20) if seg.label != "free" else text)
                p.drawText(QRectF(x + 3, bar.top(), sw - 6, bar.height()),
                           Qt.AlignmentFlag.AlignCenter, seg.label)
            x += sw
        if m.budget_bytes is not None:
            bx = bar.left() + m.budget_bytes * scale
            pen = QPen(QColor(220, 50, 50) if m.fits is False else text, 2, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(int(bx), int(bar.top() - 4), int(bx), int(bar.bottom() + 4))
            p.setPen(text)
            label = f"budget {fmt_bytes(m.budget_bytes)}"
            p.drawText(QRectF(max(0, bx - 200), bar.bottom() + 4, 200, 18),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        p.end()


class PlanBars(QWidget):
    """One PlanBar per device when a tier is split over several (gui/plan/split_model.py)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from PySide6.QtWidgets import QVBoxLayout  # noqa: PLC0415

        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self.bars: list[PlanBar] = []

    def set_models(self, models: list[BarModel]) -> None:
        while len(self.bars) < len(models):
            bar = PlanBar(self)
            self._lay.addWidget(bar)
            self.bars.append(bar)
        for i, bar in enumerate(self.bars):
            bar.setVisible(i < len(models))
            bar.set_model(models[i] if i < len(models) else None)
        self.setVisible(bool(models))
