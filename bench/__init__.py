"""rightsgate's benchmarks: `python bench/run.py` (full) or `python bench/run.py --smoke`.

Every cost is reported as a ratio against a baseline measured in the same run, with
baseline and subject interleaved, because the machines are shared and noisy.
"""
