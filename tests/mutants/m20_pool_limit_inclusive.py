"""m20: zswap_is_full off by one: the pool counts as full at pages_nr == limit.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('Zswap', 'store',
          'pool.get_pool_size() > limit',
          'pool.get_pool_size() >= limit'),
)
