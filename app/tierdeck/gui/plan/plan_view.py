"""Plan a tier: a stacked bar per device and a verdict that follows every slider move.

The widgets only: the logic (facts cache, estimates, group plan, saving) is PlanController's.
GGUF facts are read once per file on a worker; planner.estimate (pure arithmetic) then runs
on the UI thread for each change. fit_context (the "what would fit" search) runs on a worker.
Apply writes the tier back to its profile through ProfileEditor (comments kept). A tier of a
shared group is planned (bar, verdict, group) as its engine, and a line says so.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tierdeck.core.gguf import ModelFacts
from tierdeck.core.hardware import Detection, Device
from tierdeck.core.planner import Estimate, FitResult, MultiPlan
from tierdeck.core.profiles import Profile, Tier
from tierdeck.core.profiles.schema import CACHE_TYPES
from tierdeck.core.servers.tierplan import tier_device
from tierdeck.core.units import fmt_bytes
from tierdeck.gui.bridges.tasks import TaskRunner
from tierdeck.gui.plan.plan_bar import PlanBar, PlanBars
from tierdeck.gui.plan.plan_controller import (
    THINKING,
    Edits,
    PlanController,
    alternatives,
    ctx_steps,
    read_model_facts,
    save_tier,
    tier_request,
)
from tierdeck.gui.plan.plan_model import (
    alternative_text,
    bar_model,
    engine_text,
    group_bar_model,
    verdict_text,
)
from tierdeck.gui.shell.fonts import bold, set_text_color


class PlanView(QWidget):
    applied = Signal(object)  # the saved Profile
    message = Signal(str, int)
    verdict_changed = Signal(str)
    alternatives_ready = Signal(list)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner
        self.ctl = PlanController()
        self.tier: Tier | None = None
        self.edited: Tier | None = None
        self.detection: Detection | None = None
        self.estimate: Estimate | None = None
        self.group_plan: MultiPlan | None = None
        self._fit_gen = 0
        self._alt_key: tuple | None = None
        self._auto_gen = 0
        self._steps: list[int] = ctx_steps(8192)
        self._updating = False

        lay = QVBoxLayout(self)
        self.title = QLabel("Select a tier")
        bold(self.title, 1)
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        lay.addWidget(self.title)
        lay.addWidget(self.model_label)

        form = QFormLayout()
        self.device = QComboBox()
        self.device.currentIndexChanged.connect(lambda _i: self.recompute())
        form.addRow("Device", self.device)
        ctx_row = QHBoxLayout()
        self.ctx_slider = QSlider(Qt.Orientation.Horizontal)
        self.ctx_slider.valueChanged.connect(self._slider_moved)
        self.ctx = QSpinBox()
        self.ctx.setRange(256, 10_000_000)
        self.ctx.setSingleStep(256)
        self.ctx.setSuffix(" tokens")
        self.ctx.valueChanged.connect(self._ctx_typed)
        self.ctx_auto = QCheckBox("auto")
        self.ctx_auto.setToolTip("The largest context per slot that fits (decided at each start)")
        self.ctx_auto.toggled.connect(self._auto_toggled)
        ctx_row.addWidget(self.ctx_slider, 1)
        ctx_row.addWidget(self.ctx)
        ctx_row.addWidget(self.ctx_auto)
        form.addRow("Context per slot", ctx_row)
        self.slots = QSpinBox()
        self.slots.setRange(1, 64)
        self.slots.valueChanged.connect(lambda _v: self._changed())
        self.unified = QCheckBox("one KV pool shared by all slots (-kvu)")
        self.unified.toggled.connect(lambda _v: self._changed())
        slots_row = QHBoxLayout()
        slots_row.addWidget(self.slots)
        slots_row.addWidget(self.unified, 1)
        form.addRow("Slots", slots_row)
        cache_row = QHBoxLayout()
        self.cache_k = QComboBox()
        self.cache_v = QComboBox()
        for c in (self.cache_k, self.cache_v):
            c.addItems(list(CACHE_TYPES))
            c.currentIndexChanged.connect(lambda _i: self._changed())
        cache_row.addWidget(QLabel("K"))
        cache_row.addWidget(self.cache_k)
        cache_row.addWidget(QLabel("V"))
        cache_row.addWidget(self.cache_v)
        cache_row.addStretch(1)
        form.addRow("Cache type", cache_row)
        self.thinking = QComboBox()
        for label, value in THINKING:
            self.thinking.addItem(label, value)
        self.thinking.currentIndexChanged.connect(lambda _i: self._changed())
        form.addRow("Thinking", self.thinking)
        lay.addLayout(form)

        self.engine_note = QLabel()  # a shared tier: the engine this plan is about
        self.engine_note.setWordWrap(True)
        lay.addWidget(self.engine_note)
        self.engine_note.hide()
        self.bar = PlanBar()
        lay.addWidget(self.bar)
        # a tier that llama.cpp spreads over several GPUs / RPC hosts: one bar per device
        self.split_bars = PlanBars()
        self.split_text = QLabel()
        self.split_text.setWordWrap(True)
        lay.addWidget(self.split_bars)
        lay.addWidget(self.split_text)
        self.split_bars.hide()
        self.split_text.hide()
        self._split_gen = 0  # bumped on every request: a result of an older one is not shown
        self._split_pending = False  # a split plan runs on the runner
        self._split_next: tuple | None = None  # the latest request, run once the pending one ends
        self._calib = None  # planner.calibrate.Calibration, read once per profile on a worker
        self._calib_gen = 0  # bumped by set_profile: a calibration read before is read again
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        lay.addWidget(self.legend)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        bold(self.verdict)
        lay.addWidget(self.verdict)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        lay.addWidget(self.notes)
        self.alt_title = QLabel("Nearest configurations that fit (double-click to use):")
        self.alternatives = QListWidget()
        self.alternatives.setMaximumHeight(120)
        self.alternatives.itemDoubleClicked.connect(self._use_alternative)
        lay.addWidget(self.alt_title)
        lay.addWidget(self.alternatives)
        self.alt_title.hide()
        self.alternatives.hide()
        self.group_bar = PlanBar()
        self.group_text = QLabel()
        self.group_text.setWordWrap(True)
        lay.addWidget(self.group_bar)
        lay.addWidget(self.group_text)
        self.group_bar.hide()
        self.group_text.hide()

        buttons = QHBoxLayout()
        self.revert_button = QPushButton("Revert")
        self.revert_button.clicked.connect(self._load_tier_values)
        self.apply_button = QPushButton("Apply to profile")
        self.apply_button.clicked.connect(self.apply)
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        lay.addLayout(buttons)
        lay.addStretch(1)
        self._set_enabled(False)

    @property
    def profile(self) -> Profile | None:
        return self.ctl.profile

    @profile.setter
    def profile(self, profile: Profile | None) -> None:
        self.ctl.profile = profile

    @property
    def facts(self) -> dict[str, ModelFacts | str | None]:
        """model path -> ModelFacts, an error string, or None while it is being read"""
        return self.ctl.facts

    # ---- inputs ------------------------------------------------------------------------
    def set_detection(self, det: Detection) -> None:
        first = self.detection is None
        self.detection = det
        labels = [f"{d.index}: {d.name} ({d.kind})" for d in det.devices]
        if labels != [self.device.itemText(i) for i in range(self.device.count())]:
            current = self.device.currentData()
            self.device.blockSignals(True)
            self.device.clear()
            for d, label in zip(det.devices, labels, strict=True):
                self.device.addItem(label, d.index)
            # the device the supervisor plans on (None: the tier names one not present)
            default = tier_device(det, self.tier) or det.default_device()
            idx = self.device.findData(current if current is not None else default.index)
            self.device.setCurrentIndex(max(0, idx))
            self.device.blockSignals(False)
        if first:
            self._plan_all_tiers()
        self.recompute()

    def current_device(self) -> Device | None:
        if self.detection is None or not self.detection.devices:
            return None
        idx = self.device.currentData()
        for d in self.detection.devices:
            if d.index == idx:
                return d
        return tier_device(self.detection, self.tier) or self.detection.default_device()

    def set_profile(self, profile: Profile) -> None:
        self._calib, self._calib_gen = None, self._calib_gen + 1
        self.ctl.set_profile(profile)
        self.tier = None
        self._plan_all_tiers()

    def select_tier(self, name: str) -> None:
        if self.profile is None or name not in self.profile.tiers:
            return
        self.tier = self.profile.tiers[name]
        self._load_tier_values()
        self._need_facts(self.tier)

    def _need_facts(self, tier: Tier) -> None:
        if tier.is_remote or tier.model_path is None:
            return
        if not self.ctl.needs_facts(tier):
            self._facts_ready()
            return
        key = self.ctl.reading(tier)
        self.model_label.setText(f"reading {tier.model_path.name}…")
        self.runner.submit(f"read facts {tier.model_path.name}", read_model_facts, tier,
                           on_done=lambda f, k=key: self._got_facts(k, f),
                           on_error=lambda m, k=key: self._got_facts(k, m))

    def _got_facts(self, key: str, facts: ModelFacts | str) -> None:
        self.ctl.got_facts(key, facts)
        self._plan_all_tiers()
        if self.tier is not None and str(self.tier.model_path) == key:
            self._facts_ready()

    def current_facts(self) -> ModelFacts | None:
        return self.ctl.usable_facts(self.tier)

    def _facts_ready(self) -> None:
        f = self.ctl.facts_of(self.tier)
        if isinstance(f, str):
            self.model_label.setText(f"cannot read the model: {f}")
            return
        if f is None:
            return
        self.model_label.setText(
            f"{self.tier.model_path.name} · {f.arch} · {f.size_label or ''} {f.file_type or ''} · "
            f"trained context {f.ctx_train} · {f.n_layer} layers")
        self._steps = ctx_steps(max(f.ctx_train, 512))
        self._updating = True
        self.ctx_slider.setRange(0, len(self._steps) - 1)
        self._sync_slider(self.ctx.value())
        self._updating = False
        self.recompute()

    def _load_tier_values(self) -> None:
        t = self.tier
        if t is None:
            return
        self.title.setText(f"Plan — {t.name}" + (f" ({t.slot})" if t.slot and t.slot != t.name else ""))
        self._set_enabled(not t.is_remote)
        self.engine_note.hide()  # recompute shows it again for a shared tier
        if t.is_remote:
            self.model_label.setText(f"remote tier ({t.base_url}): nothing to plan")
            self.bar.set_model(None)
            self.verdict.setText("")
            return
        self._updating = True
        self.ctx.setValue(t.ctx_per_slot or 4096)
        self._sync_slider(self.ctx.value())
        self.ctx_auto.setChecked(t.ctx_per_slot is None)
        self.ctx.setEnabled(t.ctx_per_slot is not None)
        self.ctx_slider.setEnabled(t.ctx_per_slot is not None)
        self.slots.setValue(t.parallel)
        self.unified.setChecked(t.kv_unified)
        self.cache_k.setCurrentText(t.cache_type_k)
        self.cache_v.setCurrentText(t.cache_type_v)
        self.thinking.setCurrentIndex(max(0, self.thinking.findData(t.thinking)))
        self._updating = False
        self._changed()

    def _set_enabled(self, on: bool) -> None:
        for w in (self.ctx_slider, self.ctx, self.ctx_auto, self.slots, self.unified, self.cache_k, self.cache_v,
                  self.thinking, self.apply_button, self.revert_button):
            w.setEnabled(on)

    def _sync_slider(self, value: int) -> None:
        idx = min(range(len(self._steps)), key=lambda i: abs(self._steps[i] - value))
        self.ctx_slider.blockSignals(True)
        self.ctx_slider.setValue(idx)
        self.ctx_slider.blockSignals(False)

    def _auto_toggled(self, on: bool) -> None:
        self.ctx.setEnabled(not on)
        self.ctx_slider.setEnabled(not on)
        self._changed()

    def _slider_moved(self, idx: int) -> None:
        if self._updating or not (0 <= idx < len(self._steps)):
            return
        self.ctx.blockSignals(True)
        self.ctx.setValue(self._steps[idx])
        self.ctx.blockSignals(False)
        self._changed()

    def _ctx_typed(self, v: int) -> None:
        if self._updating:
            return
        self._sync_slider(v)
        self._changed()

    def set_ctx_per_slot(self, n: int) -> None:
        """Programmatic edit (tests, alternatives): same path as the user typing."""
        self.ctx.setValue(n)

    def _changed(self) -> None:
        if self._updating or self.tier is None or self.tier.is_remote:
            return
        self.edited = self.ctl.edited(self.tier, Edits(
            ctx_per_slot=None if self.ctx_auto.isChecked() else self.ctx.value(),
            parallel=self.slots.value(),
            kv_unified=self.unified.isChecked(),
            cache_type_k=self.cache_k.currentText(),
            cache_type_v=self.cache_v.currentText(),
            thinking=self.thinking.currentData(),
        ))
        self.recompute()

    # ---- planning ----------------------------------------------------------------------
    def recompute(self) -> None:
        facts, dev, edited = self.current_facts(), self.current_device(), self.edited
        if (facts is None or dev is None or edited is None or self.tier is None
                or edited.name != self.tier.name):
            return
        t = self.ctl.planned_tier(edited)  # a shared tier: the engine the supervisor starts
        self.engine_note.setText(engine_text(edited.name, t) if t is not edited else "")
        self.engine_note.setVisible(t is not edited)
        from tierdeck.core.planner import fit_context  # noqa: PLC0415

        if t.ctx_per_slot is None:
            # auto: the planner searches for the largest context that fits (a worker's job)
            self._auto_gen += 1
            gen = self._auto_gen
            self.runner.submit("fit check", fit_context, facts, tier_request(t), dev,
                               on_done=lambda r, g=gen, tt=t, d=dev: self._got_auto(g, r, tt, d),
                               on_error=lambda m: self.verdict.setText(f"planner error: {m}"))
            return
        try:
            est = self.ctl.estimate(facts, t, dev)
        except Exception as e:  # a planner error shows as text, never as a dead window
            self.estimate = None
            self.verdict.setText(f"planner error: {e}")
            return
        self._show_estimate(est, t, dev)

    def _got_auto(self, gen: int, fit: FitResult, t: Tier, dev: Device) -> None:
        if gen != self._auto_gen:
            return
        if fit.best is None:
            self.estimate = None
            self.bar.set_model(None)
            self.verdict.setText(f"does not fit at any context — short by at least "
                                 f"{fmt_bytes(fit.shortfall_bytes)}")
            set_text_color(self.verdict, QColor(208, 60, 60))
            self._alt_key = None
            if not t.is_engine:  # an engine's alternatives are no member's settings
                self._got_fit(self._fit_gen, fit)
            return
        if not t.is_engine:  # an engine's pool is not the member's own context
            self.ctx.blockSignals(True)
            self.ctx.setValue(fit.best.ctx_per_slot)
            self.ctx.blockSignals(False)
            self._sync_slider(fit.best.ctx_per_slot)
        self._show_estimate(fit.best, t, dev, auto=True)

    def _show_estimate(self, est: Estimate, t: Tier, dev: Device, auto: bool = False) -> None:
        self.estimate = est
        ctx = est.ctx_per_slot if auto else t.ctx_per_slot
        shape = (f"{t.parallel} slots, one {ctx}-token pool" if t.is_engine
                 else f"{t.parallel} × {ctx} tokens")
        bm = bar_model(f"{dev.name}: {t.name} {shape}" + (" (auto)" if auto else ""), est, dev)
        self.bar.set_model(bm)
        self.legend.setText("  ·  ".join(bm.legend))
        text = verdict_text(est)
        self.verdict.setText(text)
        set_text_color(self.verdict, QColor(46, 155, 67) if est.fits else QColor(208, 60, 60))
        notes = list(est.notes)
        if auto:
            notes.insert(0, f"context per slot: auto — the planner picks {est.ctx_per_slot} tokens")
        if est.speed_tokens_per_s:
            notes.append(f"generation ≤ {est.speed_tokens_per_s:.0f} tok/s ({est.speed_note})")
        self.notes.setText("\n".join(notes))
        self._plan_split(t)
        self._plan_group(t, dev)  # an engine stands for its members in the group
        self.verdict_changed.emit(text)
        key = (t.name, t.ctx_per_slot, t.parallel, t.kv_unified, t.cache_type_k, t.cache_type_v,
               dev.index)
        if est.fits or t.is_engine:
            # An engine's alternatives (slots, pool) are no member's settings to pick from:
            # the verdict and the notes say what to lower instead.
            if not est.fits:
                self.notes.setText("\n".join(notes + [
                    "to fit: lower a member's context or slots, or the group's ctx_pool"]))
            self._alt_key = None
            self.alt_title.hide()
            self.alternatives.hide()
            self.alternatives.clear()
        elif key != self._alt_key:
            # Not again for a mere memory re-reading: the list would flicker under the mouse.
            self._alt_key = key
            self._find_alternatives(self.current_facts(), t, dev)

    def _plan_split(self, t: Tier) -> None:
        """Several devices (detected GPUs, the profile's RPC hosts): plan per device on a worker.
        One plan at a time: slider moves while it runs leave only the latest to plan next."""
        from tierdeck.core.planner.multi_fit import tier_devices  # noqa: PLC0415

        devices = self.detection.devices if self.detection else []
        facts = self.current_facts()
        self._split_gen += 1
        if len(tier_devices(t, devices)) < 2 or facts is None:  # cheap: no job for one device
            self._split_next = None
            self.split_bars.hide()
            self.split_text.hide()
            return
        self._split_next = (t, facts, tier_request(t), list(devices))
        if not self._split_pending:
            self._submit_split()

    def _submit_split(self) -> None:
        from tierdeck.gui.plan.split_model import split_here  # noqa: PLC0415

        args, self._split_next = self._split_next, None
        self._split_pending = True
        gen, calib_gen = self._split_gen, self._calib_gen
        self.runner.submit("split plan", split_here, *args, self._calib,
                           on_done=lambda r, g=gen, c=calib_gen: self._got_split(g, c, r),
                           on_error=self._split_failed)

    def _split_ended(self) -> bool:
        """True if a newer request was waiting and is now submitted."""
        self._split_pending = False
        if self._split_next is not None:
            self._submit_split()
            return True
        return False

    def _split_failed(self, msg: str) -> None:
        if not self._split_ended():
            self.split_text.setText(f"split planner error: {msg}")

    def _got_split(self, gen: int, calib_gen: int, result) -> None:
        fit, calib = result
        if calib_gen == self._calib_gen:
            self._calib = calib
        if self._split_ended() or gen != self._split_gen:
            return
        if fit is None:  # not a split after all
            self.split_bars.hide()
            self.split_text.hide()
            return
        from tierdeck.gui.plan.split_model import split_bars, split_verdict  # noqa: PLC0415

        e = fit.best or fit.wanted
        self.split_bars.set_models(split_bars(e))
        self.split_text.setText(split_verdict(e) + (f" · {e.ctx_per_slot} tokens per slot" if fit.best else ""))
        self.split_text.show()

    def _find_alternatives(self, facts: ModelFacts | None, tier: Tier, dev: Device) -> None:
        from tierdeck.core.planner import fit_context  # noqa: PLC0415

        self._fit_gen += 1
        gen = self._fit_gen
        self.runner.submit("fit check", fit_context, facts, tier_request(tier), dev,
                           on_done=lambda r, g=gen: self._got_fit(g, r),
                           on_error=lambda m: self.message.emit(f"fit check failed: {m}", 8000))

    def _got_fit(self, gen: int, fit: FitResult) -> None:
        if gen != self._fit_gen:
            return  # the sliders moved since: a newer check is on its way
        self.alternatives.clear()
        options = alternatives(fit)
        for key, est in options:
            item = QListWidgetItem(alternative_text(est))
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.alternatives.addItem(item)
        if fit.explanation:
            self.notes.setText(fit.explanation)
        self.alt_title.setVisible(bool(options))
        self.alternatives.setVisible(bool(options))
        self.alternatives_ready.emit([self.alternatives.item(i).text()
                                      for i in range(self.alternatives.count())])

    def use_alternative(self, row: int) -> None:
        item = self.alternatives.item(row)
        if item is not None:
            self._use_alternative(item)

    def _use_alternative(self, item: QListWidgetItem) -> None:
        ctx, par, tk, tv = item.data(Qt.ItemDataRole.UserRole)
        self._updating = True
        self.ctx_auto.setChecked(False)
        self.ctx.setEnabled(True)
        self.ctx_slider.setEnabled(True)
        if ctx:
            self.ctx.setValue(int(ctx))
            self._sync_slider(int(ctx))
        if par:
            self.slots.setValue(int(par))
        self.cache_k.setCurrentText(tk)
        self.cache_v.setCurrentText(tv)
        self._updating = False
        self._changed()

    def _plan_all_tiers(self) -> None:
        """Planned bytes of every tier as saved, for the cards (facts permitting)."""
        for t in self.ctl.plan_all(self.current_device()):
            self._need_facts(t)

    def bandwidth_tps(self, tier: str) -> float | None:
        return self.ctl.bandwidth_tps(tier)

    def _plan_group(self, edited: Tier, dev: Device) -> None:
        """The co-resident group of the tier, with this tier as edited: does it all fit?"""
        try:
            gp = self.ctl.plan_group(edited, dev)
        except Exception as e:  # shown in the tab, never a dead window
            self.group_text.setText(f"co-resident plan failed: {e}")
            self.group_text.show()
            return
        if gp is None:
            self.group_plan = None
            self.group_bar.hide()
            self.group_text.hide()
            return
        mp = self.group_plan = gp.plan
        self.group_bar.set_model(group_bar_model(
            f"side by side: {' + '.join(gp.names)} ({mp.mode})",
            list(zip(gp.names, mp.estimates, strict=False)), dev, mp.budget_bytes))
        self.group_text.setText(mp.explanation)
        self.group_bar.show()
        self.group_text.show()

    def planned_bytes(self) -> dict[str, int | None]:
        return self.ctl.planned_bytes()

    def weights_bytes(self, tier: str) -> int | None:
        return self.ctl.weights_bytes(tier)

    # ---- apply -------------------------------------------------------------------------
    def apply(self) -> None:
        if self.profile is None or self.tier is None or self.edited is None:
            return
        prof, orig, edited = self.profile, self.tier, self.edited
        self.apply_button.setEnabled(False)
        self.runner.submit(f"save {prof.name}", save_tier, prof, orig, edited,
                           on_done=self._saved, on_error=self._save_failed)

    def _saved(self, profile: Profile) -> None:
        self.apply_button.setEnabled(True)
        self.message.emit(f"saved {profile.path}", 8000)
        self.applied.emit(profile)

    def _save_failed(self, msg: str) -> None:
        self.apply_button.setEnabled(True)
        self.message.emit(f"could not save: {msg}", 15000)

    def shutdown(self) -> None:
        self._split_gen += 1
        self._split_next = None
        self._fit_gen += 1
