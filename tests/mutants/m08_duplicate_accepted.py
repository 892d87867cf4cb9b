"""m08: duplicate accepted: zbud_alloc does not look the offset up when a page fits, so a
duplicate store replaces the index entry.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          '                if offset in index:\n                    return _EEXIST\n                i = chunks',  # noqa: E501
          '                i = chunks'),
)
