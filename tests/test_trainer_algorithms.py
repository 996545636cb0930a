"""Each GRPO/DAPO formula of prolong.trainer.algorithms against values computed by hand."""

import math

import pytest
import torch

from prolong.trainer import algorithms as A


def close(a, b, tol=1e-5):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(b, dtype=torch.float32), atol=tol)


# ----------------------------------------------------------------- advantages


def test_grpo_advantage_divides_by_the_unbiased_group_std():
    # mean 0.5; unbiased std = sqrt(4 * 0.25 / 3) = 0.57735; A = +-0.5 / 0.57735
    adv = A.group_advantages(torch.tensor([[1.0, 0.0, 0.0, 1.0]]))
    assert close(adv, [[0.866025, -0.866025, -0.866025, 0.866025]])


def test_dr_grpo_advantage_only_subtracts_the_group_mean():
    adv = A.group_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), scale=False)
    assert close(adv, [[0.75, -0.25, -0.25, -0.25]])


def test_groups_are_normalised_separately():
    adv = A.group_advantages(torch.tensor([[1.0, 0.0], [3.0, 1.0]]), scale=False)
    assert close(adv, [[0.5, -0.5], [1.0, -1.0]])


def test_a_group_with_equal_rewards_has_zero_advantage():
    assert close(A.group_advantages(torch.tensor([[1.0, 1.0, 1.0]])), [[0.0, 0.0, 0.0]])


def test_advantages_need_a_groups_by_samples_matrix():
    with pytest.raises(ValueError, match="num_groups, G"):
        A.group_advantages(torch.tensor([1.0, 0.0]))


# ----------------------------------------------------------------- ratio and clipping


def test_ratio_is_exp_of_the_logprob_difference():
    assert close(A.policy_ratio(torch.tensor([math.log(1.5)]), torch.tensor([0.0])), [1.5])


def _loss(ratio, adv, **kw):
    logp = torch.tensor([math.log(ratio)], requires_grad=True)
    out = A.clipped_policy_loss(logp, torch.tensor([0.0]), torch.tensor([adv]), **kw)
    return out, logp


def test_positive_advantage_is_clipped_at_one_plus_eps_high():
    out, logp = _loss(1.5, 1.0)  # max(-1.5, -1.4) = -1.4
    assert close(out.loss, [-1.4])
    assert out.clipped_high.tolist() == [True] and out.clipped_low.tolist() == [False]
    out.loss.sum().backward()
    assert logp.grad.item() == 0.0  # no gradient through the clip


def test_positive_advantage_inside_the_range_is_not_clipped():
    out, logp = _loss(1.2, 1.0)  # eps_high 0.4: 1.2 is inside
    assert close(out.loss, [-1.2])
    assert not out.clipped_high.any()
    out.loss.sum().backward()
    assert close(logp.grad, [-1.2])  # d(-A r)/dlogp = -A r


def test_decoupled_clip_uses_eps_low_below_and_eps_high_above():
    out, _ = _loss(0.5, -1.0)  # max(0.5, 0.8) = 0.8 (clip at 1 - 0.2)
    assert close(out.loss, [0.8])
    assert out.clipped_low.tolist() == [True]
    out, _ = _loss(1.3, 1.0, eps_low=0.2, eps_high=0.2)  # symmetric PPO clips 1.3 at 1.2
    assert close(out.loss, [-1.2])


def test_negative_advantage_with_a_small_ratio_change_is_not_clipped():
    out, _ = _loss(0.9, -1.0)
    assert close(out.loss, [0.9])
    assert not out.clipped_low.any()


def test_positive_advantage_below_the_range_keeps_the_unclipped_term():
    out, _ = _loss(0.5, 1.0)  # max(-0.5, -0.8) = -0.5: the pessimistic bound is the unclipped one
    assert close(out.loss, [-0.5])
    assert not out.clipped_low.any() and not out.clipped_high.any()


def test_dual_clip_bounds_the_loss_of_negative_advantages_at_c_times_abs_a():
    out, _ = _loss(5.0, -1.0, dual_clip=None)  # off
    assert close(out.loss, [5.0]) and not out.dual_clipped.any()
    out, _ = _loss(5.0, -1.0)  # on by default with verl's c = 3: min(max(5, 1.4), 3) = 3
    assert close(out.loss, [3.0]) and out.dual_clipped.tolist() == [True]
    out, _ = _loss(5.0, -1.0, dual_clip=3.0)  # min(max(5, 1.4), 3) = 3
    assert close(out.loss, [3.0]) and out.dual_clipped.tolist() == [True]
    out, _ = _loss(5.0, 1.0, dual_clip=3.0)  # positive advantages are untouched
    assert close(out.loss, [-1.4])


def test_dual_clip_must_exceed_one():
    with pytest.raises(ValueError, match="dual_clip"):
        _loss(1.0, -1.0, dual_clip=0.5)


# ----------------------------------------------------------------- KL estimators


def test_kl_estimators_by_hand():
    logp, ref = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.25)])
    # d = ref - logp = log(0.5) = -0.693147
    assert close(A.kl_k1(logp, ref), [0.693147])
    assert close(A.kl_k2(logp, ref), [0.240227])  # 0.5 * 0.693147^2
    assert close(A.kl_k3(logp, ref), [0.193147])  # e^d - d - 1 = 0.5 + 0.693147 - 1
    assert close(A.kl_penalty(logp, ref, "k3"), [0.193147])


def test_k3_is_zero_at_equal_policies_and_never_negative():
    x = torch.linspace(-3, 3, 13)
    assert close(A.kl_k3(x, x), torch.zeros(13))
    assert (A.kl_k3(x, x.flip(0)) >= 0).all()


def test_unknown_kl_estimator_is_named():
    with pytest.raises(ValueError, match="'k4'"):
        A.kl_penalty(torch.zeros(1), torch.zeros(1), "k4")


# ----------------------------------------------------------------- aggregation

LOSS = torch.tensor([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]])
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


def test_token_mean_averages_over_all_tokens_of_the_batch():
    assert close(A.aggregate_loss(LOSS, MASK, "token-mean"), 2.5)  # (1+2+3+4)/4


def test_seq_mean_token_sum():
    assert close(A.aggregate_loss(LOSS, MASK, "seq-mean-token-sum"), 5.0)  # (6 + 4) / 2


def test_seq_mean_token_mean_weights_each_sequence_equally():
    assert close(A.aggregate_loss(LOSS, MASK, "seq-mean-token-mean"), 3.0)  # (6/3 + 4/1) / 2


def test_dr_grpo_seq_mean_token_sum_norm_divides_by_a_constant_horizon_only_as_verl():
    # verl's agg_loss: sum of the masked losses / a constant length; TRL's dr_grpo divides by B * max_len (here 2x less)
    assert close(A.aggregate_loss(LOSS, MASK, "seq-mean-token-sum-norm", max_len=4), 2.5)  # 10 / 4
    assert close(A.aggregate_loss(LOSS, MASK, "seq-mean-token-sum-norm"), 10 / 3)  # default: the tensor's T


def test_fully_masked_rows_do_not_count_in_sequence_means():
    loss = torch.cat([LOSS, torch.tensor([[7.0, 7.0, 7.0]])])
    mask = torch.cat([MASK, torch.zeros(1, 3)])  # a third row with no token (e.g. truncated under the overlong filter)
    assert close(A.aggregate_loss(loss, mask, "seq-mean-token-mean"), 3.0)  # (6/3 + 4/1) / 2, not / 3
    assert close(A.aggregate_loss(loss, mask, "seq-mean-token-sum"), 5.0)  # (6 + 4) / 2
    assert close(A.aggregate_loss(loss, mask, "token-mean"), 2.5)


# ----------------------------------------------------------------- numeric guards (verl's defaults)


def test_guards_are_on_by_default_with_verl_values():
    from prolong.trainer.config import TrainConfig

    cfg = TrainConfig()
    assert (cfg.dual_clip, cfg.log_ratio_clamp, cfg.kl_k3_clamp, cfg.kl_k3_bound) == (3.0, 20.0, 20.0, 10.0)
    assert A.policy_ratio(torch.tensor([100.0]), torch.tensor([0.0])).item() == pytest.approx(math.exp(20.0))
    assert A.kl_k3(torch.tensor([0.0]), torch.tensor([30.0])).item() == 10.0  # clamp(e^20 - 20 - 1, -10, 10)


def test_gradients_stay_finite_on_extreme_log_ratios():
    logp = torch.tensor([-0.1, -300.0, -0.2, -250.0, -1.0], requires_grad=True)
    old = torch.tensor([-300.0, -0.1, -250.0, -0.2, -1.0])  # log-ratios of +-~300: exp overflows float32
    ref = torch.tensor([-200.0, -0.5, 0.0, -400.0, -1.0])
    adv = torch.tensor([1.0, -1.0, -1.0, 1.0, 0.5])
    pl = A.clipped_policy_loss(logp, old, adv)
    loss = (pl.loss + 0.1 * A.kl_penalty(logp, ref, "k3")).mean()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logp.grad).all(), (loss, logp.grad)
    assert torch.isfinite(pl.ratio).all() and pl.loss.max() <= 3.0 * 1.0 + 1e-6  # dual clip: -A * c for A < 0
    assert A.kl_k3(logp.detach(), ref).abs().max() <= 10.0


def test_micro_batches_with_the_batch_normaliser_add_up_to_the_batch_loss():
    parts = [A.aggregate_loss(LOSS[i : i + 1], MASK[i : i + 1], "token-mean", num_tokens=4.0) for i in range(2)]
    assert close(sum(parts), 2.5)
    parts = [A.aggregate_loss(LOSS[i : i + 1], MASK[i : i + 1], "seq-mean-token-mean", num_seqs=2) for i in range(2)]
    assert close(sum(parts), 3.0)


def test_unknown_aggregation_is_named():
    with pytest.raises(ValueError, match="token-sum-mean"):
        A.aggregate_loss(LOSS, MASK, "token-sum-mean")


# ----------------------------------------------------------------- DAPO filters


def test_dynamic_sampling_drops_groups_whose_rewards_are_all_equal():
    rewards = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.2, 0.3, 0.2]])
    assert A.informative_groups(rewards).tolist() == [False, True, False, False, True]


def test_overlong_penalty_is_zero_before_the_buffer_and_minus_factor_at_the_limit():
    lengths = torch.tensor([10, 15, 17, 20])
    assert close(A.overlong_penalty(lengths, max_len=20, buffer=5, factor=1.0), [0.0, 0.0, -0.4, -1.0])
    assert close(A.overlong_penalty(lengths, max_len=20, buffer=5, factor=0.5), [0.0, 0.0, -0.2, -0.5])
    assert close(A.overlong_penalty(lengths, max_len=20, buffer=0), [0.0, 0.0, 0.0, 0.0])


def test_truncated_samples_get_zero_loss_weight():
    assert A.truncation_mask(torch.tensor([True, False, True])).tolist() == [0.0, 1.0, 0.0]


# ----------------------------------------------------------------- model outputs and evaluation


def test_entropy_of_uniform_logits_is_log_vocab():
    assert close(A.entropy_from_logits(torch.zeros(2, 4)), [math.log(4)] * 2)
    assert A.entropy_from_logits(torch.tensor([[100.0, 0.0, 0.0]])).item() < 1e-6


def test_token_logprobs_pick_the_log_softmax_of_each_token():
    logits = torch.tensor([[[0.0, math.log(3.0)]]])  # p = [0.25, 0.75]
    assert close(A.token_logprobs(logits, torch.tensor([[1]])), [[math.log(0.75)]])
    assert close(A.token_logprobs(logits, torch.tensor([[0]])), [[math.log(0.25)]])


def test_pass_at_k_unbiased_estimator():
    assert A.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert A.pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert A.pass_at_k(5, 2, 3) == pytest.approx(0.9)  # 1 - C(3,3)/C(5,3)
    assert A.pass_at_k(4, 0, 4) == 0.0
    assert A.pass_at_k(4, 4, 4) == 1.0
    with pytest.raises(ValueError):
        A.pass_at_k(4, 5, 1)
