/*
 * The key hash of warmer/sample/_keyhash.py, one loop per string, without the GIL.
 *
 * Why C: SHARDS hashes every cacheable key of a sample (issue 13 budgets 20 s for a
 * 10M-request miss-ratio curve). The numpy path builds a prefix sum over every byte of the
 * key column (five passes over ~40 bytes per key); this reads each byte once. Both compute
 *
 *     h = mix64( sum(b[i] * P^i) + len * L )      modulo 2^64, i over the string's bytes
 *
 * and tests/sample/test_mrc.py holds them together (tests run with and without this
 * module via WARMER_NO_NATIVE).
 *
 * hash_strings(offsets, data, start, count, out): offsets is an Arrow int32 offsets buffer,
 * data its values buffer, strings start..start+count-1 are hashed into out (count uint64).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define P 0x100000001B3ULL
#define L 0x9E3779B97F4A7C15ULL

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static PyObject *hash_strings(PyObject *self, PyObject *args) {
    Py_buffer offsets, data, out;
    Py_ssize_t start, count;
    if (!PyArg_ParseTuple(args, "y*y*nnw*", &offsets, &data, &start, &count, &out))
        return NULL;
    PyObject *result = NULL;
    if (start < 0 || count < 0 || (start + count + 1) * 4 > offsets.len ||
        count * 8 > out.len) {
        PyErr_SetString(PyExc_ValueError, "hash_strings: buffers too small");
        goto done;
    }
    const int32_t *offs = (const int32_t *)offsets.buf + start;
    const uint8_t *bytes = (const uint8_t *)data.buf;
    uint64_t *hashes = (uint64_t *)out.buf;
    for (Py_ssize_t i = 0; i <= count; i++) {
        if (offs[i] < 0 || offs[i] > data.len || (i > 0 && offs[i] < offs[i - 1])) {
            PyErr_SetString(PyExc_ValueError, "hash_strings: bad offsets");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        const uint8_t *b = bytes + offs[i];
        int32_t n = offs[i + 1] - offs[i];
        uint64_t h = 0, power = 1;
        for (int32_t k = 0; k < n; k++) {
            h += (uint64_t)b[k] * power;
            power *= P;
        }
        hashes[i] = mix64(h + (uint64_t)n * L);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"hash_strings", hash_strings, METH_VARARGS,
     "hash_strings(offsets, data, start, count, out): key hashes into out (uint64)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_keyhash_c",
    "The key hash of warmer.sample._keyhash in C (see the file's comment).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__keyhash_c(void) { return PyModule_Create(&module_def); }
