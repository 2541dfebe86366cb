"""One running emulator: its start-up settings, seed, current state and fault settings."""

from __future__ import annotations

from etl.sandbox.auth import Tokens
from etl.sandbox.faults import Faults
from etl.sandbox.seed import build_state, load_seed
from etl.sandbox.settings import FaultSettings, SandboxSettings


class Sandbox:
    """Held in `app.state.sandbox`; every handler reads and changes the state through it.

    All handlers run on the server's one event loop and never await while changing the
    state, so no lock is needed.
    """

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.seed = load_seed(settings.seed)
        self.startup_faults = FaultSettings.from_settings(settings)
        self.faults = Faults(self.startup_faults)
        self.state = build_state(self.seed)
        self.tokens = Tokens(settings)

    @property
    def catalogue(self) -> str:
        return self.faults.settings.catalogue

    def reset(self) -> None:
        """Back to the seed and back to the start-up fault settings; the ledger empties, and
        issued tokens and the login count are forgotten."""
        self.state = build_state(self.seed)
        self.tokens = Tokens(self.settings)
        self.faults.configure(self.startup_faults)
