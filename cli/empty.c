/* empty.c: placeholder translation unit so a library directory with no
 * sources yet still forms a valid static library. */
typedef int cfx_empty_translation_unit;
