/*
 * One pass over a block of log lines: check each line, split it into the fields of an
 * nginx log_format, and write Arrow string columns (validity bitmap, int32 offsets, data).
 *
 * Why C: issue 2 wants a 1M-line import at least 8x faster than GoAccess. In Python on
 * Arrow the import checked every line with bytes methods, tokenized with Arrow's CSV
 * reader, then joined, stripped, split and interleaved columns with compute kernels,
 * each a pass over the data; here that is one pass, without the GIL, while the importer's
 * other thread refines the previous block (docs/benchmarks.md has the figures).
 *
 * What it does per line (warmer/sample/formats/nginx.py calls it and keeps a pure-Python
 * path with the same results, which the property tests compare it with):
 *   - rejects a line longer than MAX_LINE, not valid UTF-8, or holding a control byte
 *     other than TAB (a CR right before the LF is dropped), like formats/_lines.py;
 *   - splits it by the plan: fields separated by one space, each quoted ("..." with
 *     backslash escapes, as the format's regular expression reads them) or bare (a run
 *     of bytes without a space, `width` runs for an unquoted $time_local);
 *   - hands any line it cannot split that way back to the caller, which tries the format's
 *     regular expression on it (the reference for every odd line);
 *   - for an accepted line writes each variable's value: bare values lose their literal
 *     prefix and suffix (null when absent); $request ("METHOD SP TARGET [SP PROTOCOL]",
 *     else nulls) becomes method (ASCII letters, upper-cased, else null) and target (null
 *     when empty); $http_* values other than
 *     "-" and "" become entries of one map (row offsets, header number, value).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_LINE (1 << 20)

enum { ROLE_IGNORE = -1, ROLE_COLUMN = 0, ROLE_HEADER = 1, ROLE_REQUEST = 2 };
enum { REASON_LONG = 1, REASON_UTF8 = 2, REASON_CONTROL = 3 };

typedef struct {
    int quoted, width, role, index;
    const char *prefix, *suffix;
    Py_ssize_t prefix_len, suffix_len;
} Field;

/* One output string column, written without the GIL into bytearrays made beforehand. */
typedef struct {
    PyObject *validity, *offsets, *data; /* bytearrays */
    uint8_t *valid_bits;
    int32_t *offs;
    char *bytes;
    Py_ssize_t used, nulls;
} Column;

static int column_init(Column *c, Py_ssize_t rows, Py_ssize_t capacity) {
    memset(c, 0, sizeof *c);
    c->validity = PyByteArray_FromStringAndSize(NULL, (rows + 7) / 8 + 1);
    c->offsets = PyByteArray_FromStringAndSize(NULL, (rows + 1) * 4);
    c->data = PyByteArray_FromStringAndSize(NULL, capacity + 1);
    if (!c->validity || !c->offsets || !c->data) return -1;
    c->valid_bits = (uint8_t *)PyByteArray_AS_STRING(c->validity);
    memset(c->valid_bits, 0, (rows + 7) / 8 + 1);
    c->offs = (int32_t *)PyByteArray_AS_STRING(c->offsets);
    c->bytes = PyByteArray_AS_STRING(c->data);
    c->offs[0] = 0;
    return 0;
}

static void column_clear(Column *c) {
    Py_CLEAR(c->validity);
    Py_CLEAR(c->offsets);
    Py_CLEAR(c->data);
}

/* Append value [s, s + n) as row `row` (s NULL: a null). */
static void column_put(Column *c, Py_ssize_t row, const char *s, Py_ssize_t n) {
    if (s) {
        memcpy(c->bytes + c->used, s, n);
        c->used += n;
        c->valid_bits[row >> 3] |= (uint8_t)(1u << (row & 7));
    } else {
        c->nulls++;
    }
    c->offs[row + 1] = (int32_t)c->used;
}

static PyObject *column_result(Column *c, Py_ssize_t rows) {
    if (PyByteArray_Resize(c->data, c->used) < 0
        || PyByteArray_Resize(c->offsets, (rows + 1) * 4) < 0
        || PyByteArray_Resize(c->validity, (rows + 7) / 8) < 0)
        return NULL;
    return Py_BuildValue("(OOOn)", c->nulls ? c->validity : Py_None, c->offsets, c->data,
                         c->nulls);
}

/* Bytes [s, e) are valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static int valid_utf8(const unsigned char *s, const unsigned char *e) {
    while (s < e) {
        unsigned char c = *s;
        if (c < 0x80) { s++; continue; }
        int n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) n = 1;
        else if (c == 0xE0) n = 2, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC) n = 2;
        else if (c == 0xED) n = 2, hi = 0x9F;
        else if (c >= 0xEE && c <= 0xEF) n = 2;
        else if (c == 0xF0) n = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) n = 3;
        else if (c == 0xF4) n = 3, hi = 0x8F;
        else return 0;
        if (e - s <= n) return 0;
        if (s[1] < lo || s[1] > hi) return 0;
        for (int i = 2; i <= n; i++)
            if (s[i] < 0x80 || s[i] > 0xBF) return 0;
        s += n + 1;
    }
    return 1;
}

/* Whether every byte of [s, e) is printable ASCII (0x20..0x7e), eight bytes at a time:
 * the common line needs no closer look. */
static int printable_ascii(const unsigned char *s, const unsigned char *e) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t odd = 0;
    for (; e - s >= 8; s += 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        uint64_t del = w ^ (ones * 0x7f);
        /* a byte >= 0x80 | a byte < 0x20 | a byte == 0x7f (exact "any" tests) */
        odd |= (w & highs) | ((w - ones * 0x20) & ~w & highs) | ((del - ones) & ~del & highs);
    }
    for (; s < e; s++) odd |= (uint64_t)((unsigned char)(*s - 0x20) > 0x5e);
    return odd == 0;
}

/* Reason a line [s, e) (no LF, CR already dropped) is rejected, or 0. */
static int line_problem(const unsigned char *s, const unsigned char *e) {
    if (e - s > MAX_LINE) return REASON_LONG;
    if (printable_ascii(s, e)) return 0;
    unsigned char high = 0, control = 0;
    for (const unsigned char *p = s; p < e; p++) {
        unsigned char c = *p;
        high |= c & 0x80;
        control |= (c < 0x20 && c != '\t') | (c == 0x7f);
    }
    if (high && !valid_utf8(s, e)) return REASON_UTF8;
    return control ? REASON_CONTROL : 0;
}

typedef struct {
    const char *s, *e;
} Span;

/* Split line [s, e) by the plan into spans; 0 if it does not split that way. */
static int split_line(const char *s, const char *e, const Field *fields, int n_fields,
                      Span *spans) {
    const char *p = s;
    for (int i = 0; i < n_fields; i++) {
        const Field *f = &fields[i];
        if (i) {
            if (p >= e || *p != ' ') return 0;
            p++;
        }
        if (f->quoted) {
            if (p >= e || *p != '"') return 0;
            const char *v = ++p;
            const char *quote = memchr(p, '"', e - p);
            if (!quote) return 0;
            if (memchr(p, '\\', quote - p)) { /* escapes: the quote found may be one */
                while (p < e && *p != '"') {
                    if (*p == '\\' && ++p >= e) return 0;
                    p++;
                }
                if (p >= e) return 0;
                quote = p;
            }
            spans[i].s = v, spans[i].e = quote;
            p = quote + 1;
        } else {
            if (p < e && *p == '"') return 0; /* a bare field never starts with a quote */
            const char *v = p;
            for (int w = 0; w < f->width; w++) {
                if (w) {
                    if (p >= e || *p != ' ') return 0;
                    p++;
                }
                const char *space = memchr(p, ' ', e - p);
                p = space ? space : e;
            }
            spans[i].s = v, spans[i].e = p;
        }
    }
    return p == e;
}

static int is_alpha(char c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

typedef struct {
    Field *fields;
    int n_fields, n_columns, n_headers;
    Column *columns;
    Column items;           /* header values, row-major */
    PyObject *map_offsets;  /* int32 per row + 1 */
    PyObject *item_keys;    /* uint8 header number per item */
    int32_t *map_offs;
    uint8_t *keys;
    Py_ssize_t n_items;
    PyObject *lines;        /* int64 line number per accepted row */
    int64_t *line_no;
    Py_ssize_t rows;
    /* lines handed back: (line number, offset, length) triples; rejects: (number, reason) */
    int64_t *retry;
    Py_ssize_t n_retry, cap_retry;
    int64_t *rejected;
    Py_ssize_t n_rejected, cap_rejected;
    int oom;
} State;

static void push(int64_t **buf, Py_ssize_t *n, Py_ssize_t *cap, const int64_t *v, int k,
                 int *oom) {
    if (*n + k > *cap) {
        Py_ssize_t want = *cap ? *cap * 2 : 1024;
        int64_t *grown = PyMem_RawRealloc(*buf, want * sizeof **buf);
        if (!grown) {
            *oom = 1;
            return;
        }
        *buf = grown, *cap = want;
    }
    memcpy(*buf + *n, v, k * sizeof **buf);
    *n += k;
}

static void emit_row(State *st, int64_t line, const Span *spans) {
    Py_ssize_t row = st->rows++;
    st->line_no[row] = line;
    for (int i = 0; i < st->n_fields; i++) {
        const Field *f = &st->fields[i];
        const char *s = spans[i].s, *e = spans[i].e;
        if (f->role == ROLE_COLUMN) {
            if (f->prefix_len || f->suffix_len) {
                Py_ssize_t n = e - s;
                int ok = n >= f->prefix_len && n >= f->suffix_len
                         && memcmp(s, f->prefix, f->prefix_len) == 0
                         && memcmp(e - f->suffix_len, f->suffix, f->suffix_len) == 0;
                if (!ok) {
                    column_put(&st->columns[f->index], row, NULL, 0);
                    continue;
                }
                s += f->prefix_len;
                e = e - f->suffix_len < s ? s : e - f->suffix_len;
            }
            column_put(&st->columns[f->index], row, s, e - s);
        } else if (f->role == ROLE_REQUEST) {
            Column *method = &st->columns[f->index], *target = &st->columns[f->index + 1];
            const char *sp1 = memchr(s, ' ', e - s);
            if (!sp1) {
                column_put(method, row, NULL, 0);
                column_put(target, row, NULL, 0);
                continue;
            }
            const char *t = sp1 + 1;
            const char *sp2 = memchr(t, ' ', e - t);
            const char *t_end = sp2 ? sp2 : e;
            if (sp2 && memchr(sp2 + 1, ' ', e - sp2 - 1)) { /* a 4th part: not a request */
                column_put(method, row, NULL, 0);
                column_put(target, row, NULL, 0);
                continue;
            }
            int alpha = sp1 > s;
            for (const char *p = s; alpha && p < sp1; p++) alpha = is_alpha(*p);
            if (alpha) { /* upper-cased as it is copied */
                char *out = method->bytes + method->used;
                for (const char *p = s; p < sp1; p++) *out++ = (char)(*p & ~0x20);
                method->used += sp1 - s;
                method->valid_bits[row >> 3] |= (uint8_t)(1u << (row & 7));
                method->offs[row + 1] = (int32_t)method->used;
            } else {
                column_put(method, row, NULL, 0);
            }
            column_put(target, row, t_end > t ? t : NULL, t_end - t);
        } else if (f->role == ROLE_HEADER) {
            Py_ssize_t n = e - s;
            if (n && !(n == 1 && *s == '-')) {
                st->keys[st->n_items] = (uint8_t)f->index;
                column_put(&st->items, st->n_items++, s, n);
            }
        }
    }
    if (st->n_headers) st->map_offs[row + 1] = (int32_t)st->n_items;
}

static void scan(State *st, const char *data, Py_ssize_t size, int64_t first_line,
                 Span *spans) {
    const char *p = data, *end = data + size;
    int64_t line = first_line;
    while (p < end && !st->oom) {
        const char *nl = memchr(p, '\n', end - p);
        const char *e = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        const char *le = (e > p && e[-1] == '\r') ? e - 1 : e;
        int problem = line_problem((const unsigned char *)p, (const unsigned char *)le);
        if (problem) {
            int64_t v[2] = {line, problem};
            push(&st->rejected, &st->n_rejected, &st->cap_rejected, v, 2, &st->oom);
        } else if (split_line(p, le, st->fields, st->n_fields, spans)) {
            emit_row(st, line, spans);
        } else {
            int64_t v[3] = {line, p - data, le - p};
            push(&st->retry, &st->n_retry, &st->cap_retry, v, 3, &st->oom);
        }
        p = next;
        line++;
    }
}

static int parse_fields(PyObject *plan, State *st) {
    /* plan: sequence of (quoted, prefix: bytes, suffix: bytes, width, role, index) */
    PyObject *seq = PySequence_Fast(plan, "plan must be a sequence");
    if (!seq) return -1;
    st->n_fields = (int)PySequence_Fast_GET_SIZE(seq);
    st->fields = PyMem_Calloc(st->n_fields ? st->n_fields : 1, sizeof(Field));
    if (!st->fields) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < st->n_fields; i++) {
        Field *f = &st->fields[i];
        char *prefix, *suffix;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iy#y#iii", &f->quoted,
                              &prefix, &f->prefix_len, &suffix, &f->suffix_len, &f->width,
                              &f->role, &f->index)) {
            Py_DECREF(seq);
            return -1;
        }
        f->prefix = prefix, f->suffix = suffix; /* owned by the plan, alive for the call */
        int bad = f->width < 1 || (f->quoted && f->width != 1)
                  || (f->role == ROLE_COLUMN && (f->index < 0 || f->index >= st->n_columns))
                  || (f->role == ROLE_REQUEST
                      && (f->index < 0 || f->index + 1 >= st->n_columns))
                  || (f->role == ROLE_HEADER && (f->index < 0 || f->index >= 256));
        if (bad) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "bad plan entry %d", i);
            return -1;
        }
    }
    /* keep the plan alive: its bytes back prefix/suffix */
    Py_DECREF(seq);
    return 0;
}

static PyObject *tokenize(PyObject *module, PyObject *args) {
    Py_buffer view;
    long long first_line;
    PyObject *plan;
    int n_columns, n_headers;
    if (!PyArg_ParseTuple(args, "y*LOii", &view, &first_line, &plan, &n_columns, &n_headers))
        return NULL;
    State st;
    memset(&st, 0, sizeof st);
    st.n_columns = n_columns, st.n_headers = n_headers;
    PyObject *result = NULL;
    Span *spans = NULL;
    Py_ssize_t size = view.len;
    const char *data = view.buf;
    if (n_columns < 0 || n_headers < 0 || n_headers > 256 || parse_fields(plan, &st) < 0)
        goto done;

    /* Rows are at most the lines; every buffer is sized for the worst case, untouched
     * pages of a bytearray cost nothing. */
    Py_ssize_t max_rows = 1;
    for (const char *p = data; (p = memchr(p, '\n', data + size - p)); p++) max_rows++;
    st.columns = PyMem_Calloc(n_columns ? n_columns : 1, sizeof(Column));
    spans = PyMem_Calloc(st.n_fields ? st.n_fields : 1, sizeof(Span));
    if (!st.columns || !spans) {
        PyErr_NoMemory();
        goto done;
    }
    for (int i = 0; i < n_columns; i++)
        if (column_init(&st.columns[i], max_rows, size) < 0) goto done;
    st.lines = PyByteArray_FromStringAndSize(NULL, max_rows * 8);
    if (!st.lines) goto done;
    st.line_no = (int64_t *)PyByteArray_AS_STRING(st.lines);
    if (n_headers) {
        /* an item takes at least one byte of the line and a separator */
        Py_ssize_t max_items = max_rows * n_headers;
        if (max_items > size / 2 + 1) max_items = size / 2 + 1;
        if (column_init(&st.items, max_items, size) < 0) goto done;
        st.map_offsets = PyByteArray_FromStringAndSize(NULL, (max_rows + 1) * 4);
        st.item_keys = PyByteArray_FromStringAndSize(NULL, max_items + 1);
        if (!st.map_offsets || !st.item_keys) goto done;
        st.map_offs = (int32_t *)PyByteArray_AS_STRING(st.map_offsets);
        st.map_offs[0] = 0;
        st.keys = (uint8_t *)PyByteArray_AS_STRING(st.item_keys);
    }
    if (size > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "block larger than 2 GiB");
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    scan(&st, data, size, first_line, spans);
    Py_END_ALLOW_THREADS
    if (st.oom) {
        PyErr_NoMemory();
        goto done;
    }

    PyObject *columns = PyList_New(n_columns);
    if (!columns) goto done;
    for (int i = 0; i < n_columns; i++) {
        PyObject *c = column_result(&st.columns[i], st.rows);
        if (!c) {
            Py_DECREF(columns);
            goto done;
        }
        PyList_SET_ITEM(columns, i, c);
    }
    PyObject *headers = Py_NewRef(Py_None);
    if (n_headers) {
        Py_DECREF(headers);
        PyObject *items = column_result(&st.items, st.n_items);
        headers = items && PyByteArray_Resize(st.map_offsets, (st.rows + 1) * 4) == 0
                          && PyByteArray_Resize(st.item_keys, st.n_items) == 0
                      ? Py_BuildValue("(OON)", st.map_offsets, st.item_keys, items)
                      : NULL;
        if (!headers) {
            Py_XDECREF(items);
            Py_DECREF(columns);
            goto done;
        }
    }
    PyObject *retry = PyList_New(st.n_retry / 3);
    PyObject *rejected = PyList_New(st.n_rejected / 2);
    int ok = retry && rejected && PyByteArray_Resize(st.lines, st.rows * 8) == 0;
    for (Py_ssize_t i = 0; ok && i < st.n_retry / 3; i++) {
        int64_t *r = &st.retry[3 * i];
        PyObject *item = Py_BuildValue("(Ly#)", (long long)r[0], data + r[1], (Py_ssize_t)r[2]);
        if (!item) ok = 0;
        else PyList_SET_ITEM(retry, i, item);
    }
    for (Py_ssize_t i = 0; ok && i < st.n_rejected / 2; i++) {
        int64_t *r = &st.rejected[2 * i];
        PyObject *item = Py_BuildValue("(Li)", (long long)r[0], (int)r[1]);
        if (!item) ok = 0;
        else PyList_SET_ITEM(rejected, i, item);
    }
    if (ok) result = Py_BuildValue("(NNONN)", columns, headers, st.lines, retry, rejected);
    else {
        Py_DECREF(columns);
        Py_DECREF(headers);
        Py_XDECREF(retry);
        Py_XDECREF(rejected);
    }

done:
    if (st.columns)
        for (int i = 0; i < n_columns; i++) column_clear(&st.columns[i]);
    column_clear(&st.items);
    Py_XDECREF(st.map_offsets);
    Py_XDECREF(st.item_keys);
    Py_XDECREF(st.lines);
    PyMem_Free(st.columns);
    PyMem_Free(st.fields);
    PyMem_Free(spans);
    PyMem_RawFree(st.retry);
    PyMem_RawFree(st.rejected);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"tokenize", tokenize, METH_VARARGS,
     "tokenize(block, first_line, plan, n_columns, n_headers) -> (columns, headers, lines,\n"
     "retry, rejected). See warmer/sample/formats/nginx.py for the plan and the results."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_tokenize_c",
    "Compiled one-pass line checker and tokenizer of the nginx log_format fast path.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tokenize_c(void) { return PyModule_Create(&module_def); }
