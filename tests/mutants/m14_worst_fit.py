"""m14: worst fit: zbud_alloc takes the emptiest fitting class instead of the fullest.
"""

from tests.mutants._patch import Patch, mutant

factory = mutant(
    Patch('ZbudPool', 'alloc',
          'i = chunks + (fit & -fit).bit_length() - 1',
          'i = chunks + fit.bit_length() - 1'),
)
