"""TRL adapter: GRPOTrainer-shaped reward functions and datasets built from envs.

Heavy imports (trl, transformers) stay inside the GRPO test: worker processes import
this module to find the toy verifiers, and should not pay for trl.
"""

import importlib.util
import json
import math

import pytest

import prolong
from prolong.adapters.trl import make_dataset, reward_func

# --- toy tasks (module-level so worker processes can unpickle them) -----------------

LETTERS = "abcdefghijklm"


def letters_problem(rng, index):
    k = rng.randint(3, 8)
    return {"prompt": f"Write only letters from {LETTERS[:k]}.", "answer": LETTERS[:k]}


def letters_verifier(response, answer):
    """Fraction of the response's characters that are allowed: random text earns partial credit."""
    if not response:
        return 0.0
    return sum(c in answer for c in response) / len(response)


def words_problem(rng, index):
    words = [rng.choice(["red", "green", "blue"]) for _ in range(3)]
    return {"prompt": "Repeat: " + " ".join(words), "answer": {"words": words, "sep": " "}}


def words_verifier(response, answer):
    return response.strip() == answer["sep"].join(answer["words"])


@pytest.fixture(scope="module", autouse=True)
def toy_tasks():
    prolong.register_task("adapters-trl/letters-v0", problems=letters_problem, verifier=letters_verifier, domain="trl_letters")
    prolong.register_task("adapters-trl/words-v0", problems=words_problem, verifier=words_verifier, domain="trl_words")


def math_available():
    if importlib.util.find_spec("prolong.envs.math") is None:
        return False
    try:
        import gymnasium as gym

        gym.make("prolong/math-v0")
    except Exception:
        return False
    return True


needs_math = pytest.mark.skipif(not math_available(), reason="prolong.envs.math (the math domain) is not built yet")


# --- datasets -------------------------------------------------------------------------


def test_make_dataset_rows_carry_chat_prompt_answer_and_domain():
    ds = make_dataset("adapters-trl/letters-v0", 4, seed=0)
    assert len(ds) == 4
    row = ds[0]
    assert row["prompt"] == [{"role": "user", "content": row["prompt"][0]["content"]}]
    assert row["prompt"][0]["content"].startswith("Write only letters from ")
    assert row["domain"] == "trl_letters" and row["env"] == "adapters-trl/letters-v0"
    assert row["answer_is_json"] is False and row["answer"] in row["prompt"][0]["content"]
    assert json.loads(row["problem"])["id"] == row["problem_id"]


def test_make_dataset_is_deterministic_and_plain_text_on_request():
    a = make_dataset("adapters-trl/letters-v0", 3, conversational=False, system_prompt="Be brief.")
    b = make_dataset("adapters-trl/letters-v0", 3, conversational=False, system_prompt="Be brief.")
    assert a.to_list() == b.to_list()
    assert a[0]["prompt"].startswith("Be brief.\n\nWrite only letters")


def test_make_dataset_json_encodes_structured_answers():
    row = make_dataset("adapters-trl/words-v0", 1)[0]
    assert row["answer_is_json"] is True
    assert set(json.loads(row["answer"])) == {"words", "sep"}


def test_make_dataset_rejects_a_split_a_user_task_does_not_have():
    with pytest.raises(ValueError, match="no split argument"):
        make_dataset("adapters-trl/letters-v0", 2, split="validation")


# --- reward functions -----------------------------------------------------------------


def test_reward_func_scores_plain_and_conversational_completions_like_verify():
    rows = make_dataset("adapters-trl/words-v0", 2).to_list()
    gold = json.loads(rows[0]["answer"])
    right = " ".join(gold["words"])
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"}
    f = reward_func()
    plain = f(prompts=[r["prompt"] for r in rows], completions=[right, "purple"], completion_ids=None, **columns)
    assert plain == [1.0, 0.0]
    chat = f(
        prompts=[r["prompt"] for r in rows],
        completions=[[{"role": "assistant", "content": right}], [{"role": "assistant", "content": "purple"}]],
        **columns,
    )
    assert chat == [1.0, 0.0]


def test_reward_func_for_one_domain_returns_none_on_other_domains_rows():
    rows = make_dataset("adapters-trl/letters-v0", 1).to_list() + make_dataset("adapters-trl/words-v0", 1).to_list()
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"}
    letters_only = reward_func("trl_letters")
    assert letters_only.__name__ == "prolong_trl_letters"
    out = letters_only(prompts=[None, None], completions=["abc", "red red red"], **columns)
    assert out == [1.0, None]


def test_reward_func_accepts_verl_style_data_source_names_in_the_domain_column():
    f = reward_func()
    out = f(prompts=["p", "p"], completions=["abz", "zz"], domain=["adapters-trl/letters-v0", "trl_letters"], answer=["ab", "ab"])
    assert out == [pytest.approx(2 / 3), 0.0]


def test_reward_func_without_answer_column_says_which_columns_it_got():
    with pytest.raises(ValueError, match="no 'answer' or 'problem' column.*columns passed: domain"):
        reward_func()(prompts=["p"], completions=["x"], domain=["trl_letters"])


def test_reward_func_runs_in_worker_processes_and_matches_in_thread_scores():
    rows = make_dataset("adapters-trl/letters-v0", 6).to_list()
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"}
    completions = ["abc", "xyz", "a b", "", "mmmm", "kq"]
    parallel = reward_func(parallel=True)(prompts=[None] * 6, completions=completions, **columns)
    inline = reward_func(parallel=False)(prompts=[None] * 6, completions=completions, **columns)
    assert parallel == inline
    assert parallel == [prolong.verify("trl_letters", c, r["answer"]).reward for c, r in zip(completions, rows)]


@needs_math
def test_reward_func_scores_math_reference_answers_full_and_wrong_ones_zero():
    import gymnasium as gym

    task = gym.make("prolong/math-v0").unwrapped.task
    rows = make_dataset("prolong/math-v0", 4).to_list()
    columns = {k: [r[k] for r in rows] for k in rows[0] if k != "prompt"}
    problems = [task.problems[r["index"]] for r in rows]
    gold = [task.reference(p) for p in problems]
    wrong = [task.reference(problems[(i + 1) % 4]) if problems[(i + 1) % 4].answer != p.answer else "no idea" for i, p in enumerate(problems)]
    f = reward_func("math")
    assert f(prompts=[None] * 4, completions=gold, **columns) == [1.0] * 4
    assert f(prompts=[None] * 4, completions=wrong, **columns) == [0.0] * 4


# --- the real trainer -------------------------------------------------------------------


def _tiny_model_and_tokenizer():
    """A 2-layer Qwen2 and a character-level tokenizer with a chat template, built offline."""
    import torch
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    chars = list("abcdefghijklmnopqrstuvwxyz0123456789 .,?+=-*/\\{}()$^\n")
    vocab = {c: i for i, c in enumerate(chars)}
    specials = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    for s in specials:
        vocab[s] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    config = Qwen2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    return Qwen2ForCausalLM(config), tokenizer


def test_grpo_trainer_logs_the_rewards_prolong_computed(tmp_path):
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")

    model, tokenizer = _tiny_model_and_tokenizer()
    letters = make_dataset("adapters-trl/letters-v0", 4)
    parts = [letters]
    if math_available():  # interleave math rows so each step scores two domains
        parts.append(make_dataset("prolong/math-v0", 4))
    train = datasets.interleave_datasets(parts) if len(parts) > 1 else letters

    prolong_reward = reward_func()
    calls = []

    def recorded(**kwargs):
        out = prolong_reward(**kwargs)
        calls.append({"completions": kwargs["completions"], "domain": kwargs["domain"], "answer": kwargs["answer"], "rewards": out})
        return out

    recorded.__name__ = "prolong"
    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=8,
        max_steps=2,
        logging_steps=1,
        learning_rate=1e-3,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        shuffle_dataset=False,
        disable_tqdm=True,
        seed=0,
    )
    trainer = trl.GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[recorded], args=args, train_dataset=train)
    trainer.train()

    logged = [h for h in trainer.state.log_history if "reward" in h]
    assert len(logged) == 2 and len(calls) == 2
    for log, call in zip(logged, calls):
        rewards = call["rewards"]
        assert len(rewards) == 8 and all(r is not None and 0.0 <= r <= 1.0 for r in rewards)
        # what TRL logged is the mean of what prolong returned ...
        assert log["reward"] == pytest.approx(sum(rewards) / len(rewards), abs=1e-6)
        assert log["rewards/prolong/mean"] == pytest.approx(sum(rewards) / len(rewards), abs=1e-6)
        # ... and what prolong returned is prolong.verify on the same completions
        for completion, domain, answer, r in zip(call["completions"], call["domain"], call["answer"], rewards):
            assert completion[0]["role"] == "assistant"
            assert prolong.verify(domain, completion[0]["content"], answer).reward == r
    all_rewards = [r for c in calls for r in c["rewards"]]
    assert any(r > 0 for r in all_rewards), "random text should earn some partial credit on the letters task"
    assert not math.isnan(logged[0]["reward_std"])
    if math_available():
        assert {"trl_letters", "math"} <= {d for c in calls for d in c["domain"]}
