"""m26: writeback ignores unmap's EFAULT and writes a page invalidated
meanwhile.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('Zswap', '_write_out',
          'if pool.unmap(offset) == _EFAULT:',
          'if pool.unmap(offset) == _EFAULT and False:'),
)
