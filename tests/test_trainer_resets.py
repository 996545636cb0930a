"""Hard resets (reference := policy, optimizer state emptied) and their triggers."""

import copy

import pytest
import torch

from prolong.trainer.resets import ResetTriggers, hard_reset, scheduled_lr


def _policy_and_optimizer():
    torch.manual_seed(0)
    policy = torch.nn.Linear(3, 2)
    reference = copy.deepcopy(policy)
    opt = torch.optim.AdamW(policy.parameters(), lr=0.1)
    for _ in range(3):  # move the policy away from the reference; Adam builds state
        opt.zero_grad()
        policy(torch.ones(1, 3)).sum().backward()
        opt.step()
    return policy, reference, opt


def test_hard_reset_makes_the_reference_equal_to_the_policy():
    policy, reference, opt = _policy_and_optimizer()
    assert not torch.equal(policy.weight, reference.weight)
    hard_reset(policy, reference, opt)
    for name, p in policy.state_dict().items():
        assert torch.equal(p, reference.state_dict()[name]), name
    assert reference.weight.data_ptr() != policy.weight.data_ptr()  # a copy, not the same tensor


def test_hard_reset_empties_the_optimizer_state_and_keeps_the_learning_rate():
    policy, reference, opt = _policy_and_optimizer()
    assert len(opt.state) == 2 and int(opt.state[policy.weight]["step"]) == 3
    hard_reset(policy, reference, opt)
    assert len(opt.state) == 0
    assert opt.param_groups[0]["lr"] == 0.1
    opt.zero_grad()
    policy(torch.ones(1, 3)).sum().backward()
    opt.step()  # the next step starts Adam afresh
    assert int(opt.state[policy.weight]["step"]) == 1


def test_hard_reset_without_a_reference_only_resets_the_optimizer():
    policy, _, opt = _policy_and_optimizer()
    before = policy.weight.clone()
    hard_reset(policy, None, opt)
    assert len(opt.state) == 0 and torch.equal(policy.weight, before)


def test_every_n_trigger_counts_steps_since_the_last_reset():
    t = ResetTriggers(every=3)
    assert [t.observe_step(s) for s in range(3)] == [None, None, "every 3 steps"]
    t.on_reset(3, "every 3 steps")
    assert [t.observe_step(s) for s in range(3, 6)] == [None, None, "every 3 steps"]


def test_plateau_trigger_fires_after_patience_validations_without_gain():
    t = ResetTriggers(plateau=True, patience=2)
    assert t.observe_validation(0.10) is None  # best so far
    assert t.observe_validation(0.30) is None  # improved
    assert t.observe_validation(0.30) is None  # stale 1
    reason = t.observe_validation(0.25)  # stale 2
    assert reason is not None and "plateau of val/pass@1" in reason
    t.on_reset(10, reason)
    assert t.observe_validation(0.30) is None  # counters restart after a reset


def test_plateau_gain_must_exceed_min_delta():
    t = ResetTriggers(plateau=True, patience=1, min_delta=0.01)
    assert t.observe_validation(0.100) is None
    assert t.observe_validation(0.105) is not None  # +0.005 is no gain


def test_plateau_trigger_is_off_unless_asked():
    t = ResetTriggers(plateau=False, patience=1)
    assert t.observe_validation(0.5) is None and t.observe_validation(0.1) is None


def test_kl_trigger_fires_when_the_window_mean_exceeds_the_threshold():
    t = ResetTriggers(kl_threshold=0.1, kl_window=3)
    assert t.observe_step(0, kl=0.5) is None  # window not full yet
    assert t.observe_step(1, kl=0.05) is None
    assert t.observe_step(2, kl=0.05) is not None  # mean 0.2 > 0.1
    t.on_reset(3, "kl")
    assert [t.observe_step(s, kl=k) for s, k in zip(range(3, 6), (0.05, 0.05, 0.1))] == [None, None, None]  # mean 0.067
    assert t.observe_step(6, kl=0.3) is not None  # window (0.05, 0.1, 0.3): mean 0.15


def test_trigger_state_round_trips_through_a_checkpoint():
    t = ResetTriggers(plateau=True, patience=3, kl_threshold=1.0, kl_window=4)
    t.observe_validation(0.4)
    t.observe_validation(0.3)
    t.observe_step(0, kl=0.2)
    t.on_reset(5, "stage 1")
    t.observe_step(5, kl=0.7)
    u = ResetTriggers(plateau=True, patience=3, kl_threshold=1.0, kl_window=4)
    u.load_state_dict(t.state_dict())
    assert u.state_dict() == t.state_dict()
    assert u.resets == [{"step": 5, "reason": "stage 1"}]


def test_lr_warmup_restarts_at_the_reset_step():
    assert scheduled_lr(1.0, 0, origin=0, horizon=100, warmup=4) == pytest.approx(0.25)
    assert scheduled_lr(1.0, 3, origin=0, horizon=100, warmup=4) == pytest.approx(1.0)
    assert scheduled_lr(1.0, 10, origin=10, horizon=100, warmup=4) == pytest.approx(0.25)  # reset at step 10


def test_lr_decay_shapes():
    assert scheduled_lr(2.0, 50, origin=0, horizon=100, warmup=0, kind="cosine") == pytest.approx(1.0)
    assert scheduled_lr(2.0, 75, origin=0, horizon=100, warmup=0, kind="linear") == pytest.approx(0.5)
    assert scheduled_lr(2.0, 75, origin=0, horizon=100, warmup=0, kind="constant") == pytest.approx(2.0)
    with pytest.raises(ValueError, match="step"):
        scheduled_lr(1.0, 0, origin=0, horizon=10, warmup=0, kind="step")
