"""Preflight: the target accepts connections and every required observer answers."""

from __future__ import annotations

from warmer.gate.steps.base import RunState, StepResult


class Preflight:
    """Fail fast (exit 3) on a dead target or a required source that does not answer."""

    name = "preflight"

    def run(self, state: RunState) -> StepResult:
        from warmer.replay.run import check_target
        from warmer.replay.target import parse_target

        replay = state.config.replay
        timeout = min(replay.timeout_s, 5.0)
        check_target(state.target, timeout_s=timeout, unix_socket=replay.unix_socket)
        state.observation.preflight()
        address = parse_target(state.target, replay.unix_socket).address
        return StepResult(summary=f"the target at {address} accepts connections")
