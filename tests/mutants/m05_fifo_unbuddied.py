"""m05: LIFO replaced by FIFO: zbud_alloc takes the tail of the unbuddied list, not its head.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          'page = candidates.popitem()[0]',
          'page = candidates.popitem(last=False)[0]'),
)
