"""Adapters: prolong's rewards inside other RL stacks, over HTTP, and on Ray.

Each submodule imports its host library only when used:

* :mod:`prolong.adapters.trl`: reward functions and datasets for TRL's ``GRPOTrainer``.
* :mod:`prolong.adapters.verl`: ``compute_score`` for verl's custom reward function
  (single and batched), and the parquet export (``prolong export verl``).
* :mod:`prolong.adapters.openrlhf`: ``reward_func`` for OpenRLHF's ``--remote_rm_url FILE.py``.
* :mod:`prolong.adapters.server`: ``prolong serve``, an HTTP reward server (FastAPI + uvicorn).
* :mod:`prolong.adapters.ray`: ``verify_batch_ray``, verification spread over a Ray cluster.
* :mod:`prolong.adapters.export`: ``prolong export verl|openrlhf|jsonl``.
"""
