/*
 * The common path of warmer.observe.parsers.cache_status, compiled.
 *
 * parse(value) returns the same CacheStatus as the Python function _parse_common, or None
 * wherever that function might decline or disagree; the caller then runs the Python paths.
 * It therefore only has to be right on what it accepts, and the property tests in
 * tests/observe/test_cache_status.py hold it to the Python common and strict paths.
 *
 * Why C: a replay parses one header per response, and issue 4 budgets 2 µs per header
 * never seen before. In Python the split pieces, the field lists and the ttl integers cost
 * about 1 µs per member (docs/benchmarks.md); here a member costs its output objects.
 *
 * Accepted (RFC 9211 §2 over RFC 8941): members split on ',' and parameters on ';' (a
 * quoted string holding either never validates, so such a value is declined); cache names
 * as sf-token or sf-string; hit/stored/collapsed (bare, =?1, =?0); fwd as a token;
 * ttl and fwd-status as integers of at most 15 digits; key as a string; detail as a token
 * or string. Anything else (unknown parameters, a malformed member, non-ASCII) declines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

enum { F_CACHE, F_HIT, F_FWD, F_FWD_STATUS, F_TTL, F_STORED, F_COLLAPSED, F_KEY, F_DETAIL,
       N_FIELDS };

static PyTypeObject *entry_type = NULL;  /* CacheEntry (a NamedTuple: a tuple subclass) */
static PyTypeObject *status_type = NULL; /* CacheStatus */

typedef const unsigned char *ptr;

static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* RFC 8941 §3.3.4 sf-token: ( ALPHA / "*" ) *( tchar / ":" / "/" ) */
static int is_token(ptr s, ptr e) {
    if (s >= e || !(is_alpha(*s) || *s == '*')) return 0;
    for (s++; s < e; s++) {
        unsigned char c = *s;
        if (is_alpha(c) || is_digit(c)) continue;
        if (!c || !strchr("!#$%&'*+-.^_`|~:/", c)) return 0;
    }
    return 1;
}

/* RFC 8941 §3.3.3 sf-string, the whole of [s, e) including its quotes. */
static int is_string(ptr s, ptr e) {
    if (e - s < 2 || *s != '"' || e[-1] != '"') return 0;
    for (s++, e--; s < e; s++) {
        unsigned char c = *s;
        if (c == '\\') {
            if (++s >= e || (*s != '"' && *s != '\\')) return 0;
        } else if (c < 0x20 || c > 0x7e || c == '"') {
            return 0;
        }
    }
    return 1;
}

static PyObject *text(ptr s, ptr e) {
    return PyUnicode_FromStringAndSize((const char *)s, e - s);
}

/* The unescaped content of a string already checked by is_string. */
static PyObject *string_value(ptr s, ptr e) {
    s++, e--;
    if (!memchr(s, '\\', e - s)) return text(s, e);
    char buf[256];
    char *out = e - s <= (Py_ssize_t)sizeof buf ? buf : PyMem_Malloc(e - s);
    if (!out) return PyErr_NoMemory();
    Py_ssize_t n = 0;
    for (; s < e; s++) {
        if (*s == '\\') s++;
        out[n++] = (char)*s;
    }
    PyObject *result = PyUnicode_FromStringAndSize(out, n);
    if (out != buf) PyMem_Free(out);
    return result;
}

/* RFC 8941 §3.3.1 sf-integer of at most 15 digits; NULL (no error set) if not one. */
static PyObject *integer_value(ptr s, ptr e) {
    int negative = s < e && *s == '-';
    s += negative;
    if (s >= e || e - s > 15) return NULL;
    long long n = 0;
    for (; s < e; s++) {
        if (!is_digit(*s)) return NULL;
        n = n * 10 + (*s - '0');
    }
    return PyLong_FromLongLong(negative ? -n : n);
}

static int equals(ptr s, ptr e, const char *word) {
    size_t n = strlen(word);
    return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

static const char *const REGISTERED_FWD[] = {
    "bypass", "method", "uri-miss", "vary-miss", "miss", "request", "stale", "partial",
};

/* Store one parameter [s, e) (text between separators) in fields; 0 declines. */
static int parameter(ptr s, ptr e, PyObject **fields) {
    while (s < e && *s == ' ') s++;
    ptr eq = memchr(s, '=', e - s);
    ptr key_end = eq ? eq : e;
    ptr v = eq ? eq + 1 : e, v_end = e;
    while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t')) v_end--;
    int index = -1;
    PyObject *value = NULL;
    if (equals(s, key_end, "ttl") || equals(s, key_end, "fwd-status")) {
        if (!eq || !(value = integer_value(v, v_end))) return 0;
        index = equals(s, key_end, "ttl") ? F_TTL : F_FWD_STATUS;
    } else if (eq && equals(s, key_end, "fwd") && is_token(v, v_end)) {
        index = F_FWD, value = text(v, v_end);
    } else if (eq && equals(s, key_end, "detail") && is_token(v, v_end)) {
        index = F_DETAIL, value = text(v, v_end);
    } else if (eq && (equals(s, key_end, "key") || equals(s, key_end, "detail"))
               && is_string(v, v_end)) {
        index = equals(s, key_end, "key") ? F_KEY : F_DETAIL, value = string_value(v, v_end);
    } else {
        /* a boolean (or a registered fwd after a key with trailing blanks) */
        while (key_end > s && (key_end[-1] == ' ' || key_end[-1] == '\t')) key_end--;
        if (equals(s, key_end, "hit")) index = F_HIT;
        else if (equals(s, key_end, "stored")) index = F_STORED;
        else if (equals(s, key_end, "collapsed")) index = F_COLLAPSED;
        if (index >= 0) {
            /* exactly the spellings bare, =?1, =?0 after the key */
            if (!eq) value = Py_NewRef(Py_True);
            else if (equals(v, v_end, "?1")) value = Py_NewRef(Py_True);
            else if (equals(v, v_end, "?0")) value = Py_NewRef(Py_False);
            else return 0;
        } else if (eq && equals(s, key_end, "fwd")) {
            for (size_t i = 0; i < sizeof REGISTERED_FWD / sizeof *REGISTERED_FWD; i++) {
                if (equals(v, v_end, REGISTERED_FWD[i])) {
                    index = F_FWD, value = text(v, v_end);
                    break;
                }
            }
            if (index < 0) return 0;
        } else {
            return 0;
        }
    }
    if (!value) return -1; /* an allocation failed: the error is set */
    Py_SETREF(fields[index], value);
    return 1;
}

/* One member [s, e) into a new CacheEntry; NULL with no error set declines. */
static PyObject *member(ptr s, ptr e) {
    ptr name_end = memchr(s, ';', e - s);
    if (!name_end) name_end = e;
    ptr n = s, n_end = name_end;
    while (n < n_end && (*n == ' ' || *n == '\t')) n++;
    while (n_end > n && (n_end[-1] == ' ' || n_end[-1] == '\t')) n_end--;
    PyObject *name;
    if (is_token(n, n_end)) name = text(n, n_end);
    else if (is_string(n, n_end)) name = string_value(n, n_end);
    else return NULL;
    if (!name) return NULL;

    PyObject *fields[N_FIELDS] = {
        name, Py_NewRef(Py_False), Py_NewRef(Py_None), Py_NewRef(Py_None),
        Py_NewRef(Py_None), Py_NewRef(Py_False), Py_NewRef(Py_False), Py_NewRef(Py_None),
        Py_NewRef(Py_None),
    };
    int ok = 1;
    for (ptr p = name_end; ok == 1 && p < e;) {
        ptr start = p + 1; /* p is at a ';' */
        ptr end = memchr(start, ';', e - start);
        if (!end) end = e;
        ok = parameter(start, end, fields);
        p = end;
    }
    PyObject *entry = ok == 1 ? entry_type->tp_alloc(entry_type, N_FIELDS) : NULL;
    for (int i = 0; i < N_FIELDS; i++) {
        if (entry) PyTuple_SET_ITEM(entry, i, fields[i]);
        else Py_DECREF(fields[i]);
    }
    return entry;
}

static PyObject *parse(PyObject *module, PyObject *value) {
    if (!entry_type || !status_type) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "parse() takes a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(value)) Py_RETURN_NONE; /* the strict path counts what is bad */
    ptr s = PyUnicode_1BYTE_DATA(value);
    ptr end = s + PyUnicode_GET_LENGTH(value);

    PyObject *entries = PyList_New(0);
    if (!entries) return NULL;
    for (;;) {
        ptr comma = memchr(s, ',', end - s);
        ptr member_end = comma ? comma : end;
        PyObject *entry = member(s, member_end);
        if (!entry || PyList_Append(entries, entry) < 0) {
            Py_XDECREF(entry);
            Py_DECREF(entries);
            if (PyErr_Occurred()) return NULL;
            Py_RETURN_NONE;
        }
        Py_DECREF(entry);
        if (!comma) break;
        s = comma + 1;
    }
    PyObject *tuple = PyList_AsTuple(entries);
    Py_DECREF(entries);
    if (!tuple) return NULL;
    PyObject *status = status_type->tp_alloc(status_type, 2);
    if (!status) {
        Py_DECREF(tuple);
        return NULL;
    }
    PyTuple_SET_ITEM(status, 0, tuple);
    PyTuple_SET_ITEM(status, 1, PyLong_FromLong(0));
    return status;
}

static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *entry, *status;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &entry, &PyType_Type, &status)) return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)entry, &PyTuple_Type)
        || !PyType_IsSubtype((PyTypeObject *)status, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "configure() takes two tuple subclasses");
        return NULL;
    }
    Py_XSETREF(entry_type, (PyTypeObject *)Py_NewRef(entry));
    Py_XSETREF(status_type, (PyTypeObject *)Py_NewRef(status));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_O,
     "parse(value) -> CacheStatus | None: the common path, or None to leave it to Python."},
    {"configure", configure, METH_VARARGS,
     "configure(CacheEntry, CacheStatus): the result types (called once at import)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_cache_status_c",
    "Compiled common path of the RFC 9211 Cache-Status parser.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cache_status_c(void) { return PyModule_Create(&module_def); }
