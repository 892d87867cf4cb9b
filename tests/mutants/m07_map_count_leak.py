"""m07: map count leak: zbud_unmap drops the page reference but not the slot's map count.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'unmap',
          '                page.first_map_count -= 1\n                remaining = page.first_map_count',  # noqa: E501
          '                remaining = page.first_map_count - 1'),
)
