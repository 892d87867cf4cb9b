"""m18: a duplicate found after alloc_page is refused but the fresh page is counted in pages_nr.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          '            if offset in index:\n                self._allocator.put_page(frame)\n                return _EEXIST',  # noqa: E501
          '            if offset in index:\n                self._allocator.put_page(frame)\n                self._pages_nr += 1\n                return _EEXIST'),  # noqa: E501
)
