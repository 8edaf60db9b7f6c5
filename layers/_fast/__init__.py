"""The speed machinery behind ``conv_forward_fast`` and ``max_pool_forward_fast``.

Not part of the public API: :mod:`layers.conv` and :mod:`layers.pooling` check the arguments,
keep the contract and call in here. What makes these fast (unrolled windows, Winograd
transforms, chunks sized for the cache, in-place passes) is kept out of the modules a learner
reads.
"""
