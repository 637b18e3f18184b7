/* The matching engine's hot path in C: presearch and evaluation of compiled rules.

   watcher/rules/compiled.py turns a rule set into flat arrays (words, phrases, prefixes, the
   requirement sets that pick candidates, and each rule's query as a small program) and hands
   them to Engine(). Engine.match(everything) then does for one item what the Python engine
   does (presearch.py and matcher.py): split the item's words, find every rule word, phrase
   and prefix among them, pick the candidate rules, evaluate them, and return the spans of the
   rules that match. The Python engine stays the reference: tests hold the two to the same
   answers, and rules this file does not evaluate (link:, NEAR inside NEAR) are handed back
   for Python to evaluate.

   Why C: at 100,000 rules an item is a candidate for ~7 rules, and in Python each one costs
   microseconds of object handling and cache misses across hundreds of megabytes of objects.
   Here the index is a few flat arrays, and an item's work stays in cache.

   Memory safety: every index read from the item is bounded by its own length; every index
   read from the program was checked when the engine was built (validate()). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OP_TERM = 1, OP_ALIAS = 2, OP_AND = 3, OP_OR = 4, OP_NOT = 5, OP_NEAR = 6 };
enum { PART_WORD = 0, PART_PREFIX = 1, PART_ANY = 2 };
#define NFIELDS 4      /* title, summary, content, feed */
#define TEXT_MASK 7    /* the text fields: a term with no field looks there */
#define FIELD_END 0x02 /* the word between fields in Document.everything */
#define KEY 31         /* a phrase is looked up by its first KEY words at most */
/* Members as compiled.py numbers them: each kind from its own base (it meets them in any
   order); the engine lays them end to end (words, phrases, prefixes) when it is built. */
#define PHRASE_BASE (1 << 28)
#define STEM_BASE (1 << 29)

typedef struct {
    uint64_t *hashes;
    int32_t *ids; /* -1: empty slot */
    uint64_t mask;
} Table;

typedef struct {
    int32_t field, start, end;
} Span;

/* Words and prefixes by their bytes: one slot holds a short key itself, so that a lookup
   reads one cache line; a Bloom filter in front answers most misses from 128 KB. */
#define INLINE 16
#define BLOOM_BITS 20
typedef struct {
    uint64_t hash;
    int32_t id; /* -1: empty slot */
    int32_t len;
    char key[INLINE];
} Slot;

typedef struct {
    Slot *slots;
    uint64_t mask;
    uint64_t *bloom;
} Dict;

typedef struct {
    Span *v;
    Py_ssize_t n, cap;
} Spans;

typedef struct {
    PyObject_HEAD
    /* words: ids 0..nwords-1, each also a member (same id) */
    char *blob; /* word and stem bytes */
    int32_t nwords, nphrases, nstems, nmembers, nrules;
    int32_t *word_off, *word_len;
    Dict words;
    /* phrases: member nwords + k, found by the hash of their first (up to) KEY words' ids */
    uint32_t *phrase_keys; /* per word: bit L set when a phrase starting with it has key L */
    int32_t *phrase_len, *phrase_words_off, *phrase_words;
    Table phrases;
    /* stems: member nwords + nphrases + k */
    int32_t *stem_off, *stem_len;
    Dict stems;
    uint8_t *stem_length; /* [max_stem + 1]: 1 where some stem has that many bytes */
    int32_t max_stem;
    /* requirement sets: CSR by anchor member */
    int32_t *set_start; /* nmembers + 1 */
    int32_t *set_rule, *set_off, *set_n;
    int32_t *set_members;
    int32_t *always;
    int32_t nalways;
    /* programs */
    int32_t *code;
    Py_ssize_t ncode;
    int32_t *rule_code; /* offset into code, -1: evaluated in Python */
    uint8_t *first_only; /* 1: one exact term, its first occurrence is all that is reported */
    /* per item scratch, stamped with the item's generation instead of cleared */
    uint32_t gen;
    uint32_t *member_stamp, *rule_stamp;
    int32_t *member_head, *member_tail;
    /* per item, reused: the members present (room for all), the candidates (room for all) */
    int32_t *present, *cand;
    PyObject *field_names[NFIELDS];
    PyObject *span_type;
    int built; /* set once everything above is: a failed __init__ leaves an engine unusable */
} Engine;

/* per call */
typedef struct {
    Engine *e;
    const char *text;
    int32_t ntok;
    int32_t first_tok[NFIELDS + 1]; /* each field's first token; the end after the last */
    int32_t *tok_off, *tok_len, *tok_word, *tok_field, *tok_index;
    uint8_t *tok_gap;
    int32_t nocc, occ_cap;
    int32_t *occ_token, *occ_next;
    int32_t *run_start[3], *run_end[3], nruns[3]; /* words in each text field's spaced text */
    int32_t npresent;
    int32_t *present; /* members, in order of first occurrence (the engine's buffer) */
} Item;

/* the hash of a sequence of word ids, one id at a time */
static uint64_t step(uint64_t h, int32_t id) {
    h ^= (uint32_t)id;
    h *= 1099511628211ULL;
    return h ^ (h >> 29);
}

static uint64_t fnv(const char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t bloom_bit(uint64_t h) { return (h >> 40) & ((1u << BLOOM_BITS) - 1); }

static int dict_build(Dict *d, const char *blob, const int32_t *off, const int32_t *len,
                      int32_t n) {
    uint64_t size = 16;
    while (size < (uint64_t)n * 2 + 1) size <<= 1;
    d->mask = size - 1;
    d->slots = PyMem_Calloc(size, sizeof(Slot));
    d->bloom = PyMem_Calloc((1u << BLOOM_BITS) / 64, sizeof(uint64_t));
    if (!d->slots || !d->bloom) return -1;
    for (uint64_t i = 0; i < size; i++) d->slots[i].id = -1;
    for (int32_t k = 0; k < n; k++) {
        uint64_t h = fnv(blob + off[k], len[k]), b = bloom_bit(h);
        uint64_t i = h & d->mask;
        while (d->slots[i].id != -1) i = (i + 1) & d->mask;
        d->slots[i].hash = h;
        d->slots[i].id = k;
        d->slots[i].len = len[k];
        if (len[k] <= INLINE) memcpy(d->slots[i].key, blob + off[k], (size_t)len[k]);
        d->bloom[b >> 6] |= 1ULL << (b & 63);
    }
    return 0;
}

static int32_t dict_find(const Dict *d, const char *blob, const int32_t *off, uint64_t h,
                         const char *s, int32_t n) {
    uint64_t b = bloom_bit(h);
    if (!((d->bloom[b >> 6] >> (b & 63)) & 1)) return -1;
    for (uint64_t i = h & d->mask; d->slots[i].id != -1; i = (i + 1) & d->mask) {
        const Slot *x = &d->slots[i];
        if (x->hash == h && x->len == n &&
            memcmp(n <= INLINE ? x->key : blob + off[x->id], s, (size_t)n) == 0)
            return x->id;
    }
    return -1;
}

/* -- building ---------------------------------------------------------------------------- */

static int32_t *copy_ints(PyObject *obj, Py_ssize_t *n_out, const char *what) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (view.itemsize != 4 || view.format == NULL || (strcmp(view.format, "i") != 0 &&
                                                      strcmp(view.format, "l") != 0)) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_TypeError, "%s: expected array('i')", what);
        return NULL;
    }
    Py_ssize_t n = view.len / 4;
    int32_t *out = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    if (out) memcpy(out, view.buf, (size_t)n * sizeof(int32_t));
    else PyErr_NoMemory();
    PyBuffer_Release(&view);
    *n_out = n;
    return out;
}

#define BAD(...) do { PyErr_Format(PyExc_ValueError, __VA_ARGS__); return -1; } while (0)

/* A member as compiled.py numbers it -> as the engine does; -1 when there is none such. */
static int32_t member_of(const Engine *e, int32_t raw) {
    if (raw >= STEM_BASE) return raw - STEM_BASE < e->nstems ? e->nwords + e->nphrases + (raw - STEM_BASE) : -1;
    if (raw >= PHRASE_BASE) return raw - PHRASE_BASE < e->nphrases ? e->nwords + (raw - PHRASE_BASE) : -1;
    return raw >= 0 && raw < e->nwords ? raw : -1;
}

/* Check one node's encoding (recursively), and number its members as the engine does: every
   later read of the program is in bounds. Each node is checked once (the code is walked from
   start to end), since numbering a member twice would change it. */
static int validate(Engine *e, Py_ssize_t at, Py_ssize_t end, int depth) {
    if (depth > 200) BAD("program nested too deep");
    if (at + 2 > end) BAD("program truncated at %zd", at);
    int32_t op = e->code[at], size = e->code[at + 1];
    if (size < 2 || at + size > end) BAD("bad node size at %zd", at);
    const int32_t *c = e->code + at;
    Py_ssize_t stop = at + size;
    switch (op) {
    case OP_TERM: {
        if (size < 5) BAD("short term at %zd", at);
        int32_t member = c[3], nparts = c[4];
        if (nparts < 1 || size != 5 + 2 * nparts) BAD("bad term at %zd", at);
        if (member != -1 && (e->code[at + 3] = member_of(e, member)) < 0)
            BAD("bad member at %zd", at);
        for (int32_t p = 0; p < nparts; p++) {
            int32_t kind = c[5 + 2 * p], id = c[6 + 2 * p];
            if (kind == PART_WORD && (id < 0 || id >= e->nwords)) BAD("bad word at %zd", at);
            if (kind == PART_PREFIX && (id < 0 || id >= e->nstems)) BAD("bad stem at %zd", at);
            if (kind == PART_ANY && p == 0) BAD("term starts with any word at %zd", at);
            if (kind < 0 || kind > PART_ANY) BAD("bad part at %zd", at);
        }
        if (member != -1) { /* an exact term: its parts are its member's words, one by one */
            int32_t m = e->code[at + 3];
            const int32_t *words = &m;
            int32_t n = 1;
            if (m >= e->nwords + e->nphrases) BAD("a prefix as an exact term at %zd", at);
            if (m >= e->nwords) {
                words = e->phrase_words + e->phrase_words_off[m - e->nwords];
                n = e->phrase_len[m - e->nwords];
            }
            if (nparts != n) BAD("bad member length at %zd", at);
            for (int32_t p = 0; p < n; p++)
                if (c[5 + 2 * p] != PART_WORD || c[6 + 2 * p] != words[p])
                    BAD("bad member words at %zd", at);
        }
        return 0;
    }
    case OP_ALIAS: {
        if (size < 5 || c[3] < 1 || c[4] < 0) BAD("short alias at %zd", at);
        Py_ssize_t n = (Py_ssize_t)c[3] + c[4];
        Py_ssize_t p = at + 5;
        for (Py_ssize_t k = 0; k < n; k++) {
            if (p + 2 > stop || e->code[p] != OP_TERM) BAD("bad alias term at %zd", p);
            if (validate(e, p, stop, depth + 1) < 0) return -1;
            p += e->code[p + 1];
        }
        if (p != stop) BAD("bad alias size at %zd", at);
        return 0;
    }
    case OP_AND:
    case OP_OR: {
        if (size < 3 || c[2] < 1) BAD("short group at %zd", at);
        Py_ssize_t p = at + 3;
        for (int32_t k = 0; k < c[2]; k++) {
            if (validate(e, p, stop, depth + 1) < 0) return -1;
            p += e->code[p + 1];
        }
        if (p != stop) BAD("bad group size at %zd", at);
        return 0;
    }
    case OP_NOT:
        if (validate(e, at + 2, stop, depth + 1) < 0) return -1;
        if (at + 2 + e->code[at + 3] != stop) BAD("bad not size at %zd", at);
        return 0;
    case OP_NEAR: {
        if (size < 6 || c[2] < 0) BAD("bad near at %zd", at);
        Py_ssize_t p = at + 4;
        if (validate(e, p, stop, depth + 1) < 0) return -1;
        p += e->code[p + 1];
        if (validate(e, p, stop, depth + 1) < 0) return -1;
        p += e->code[p + 1];
        if (p != stop) BAD("bad near size at %zd", at);
        return 0;
    }
    }
    BAD("bad opcode %d at %zd", op, at);
}

static void engine_dealloc(Engine *e) {
    void *ptrs[] = {e->blob, e->word_off, e->word_len, e->words.slots, e->words.bloom,
                    e->phrase_keys, e->phrase_len, e->phrase_words_off, e->phrase_words,
                    e->phrases.hashes, e->phrases.ids, e->stem_off, e->stem_len, e->stems.slots, e->stems.bloom,
                    e->stem_length, e->set_start, e->set_rule, e->set_off, e->set_n,
                    e->set_members, e->always, e->code, e->rule_code, e->first_only,
                    e->member_stamp, e->rule_stamp, e->member_head, e->member_tail,
                    e->present, e->cand};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) PyMem_Free(ptrs[i]);
    for (int i = 0; i < NFIELDS; i++) Py_XDECREF(e->field_names[i]);
    Py_XDECREF(e->span_type);
    Py_TYPE(e)->tp_free((PyObject *)e);
}

/* Engine(blob, word_off, word_len, phrase_first, phrase_words_off, phrase_len, phrase_words,
          stem_off, stem_len, set_anchor, set_rule, set_off, set_n, set_members, always,
          code, rule_code, first_only, fields, span_type)

   Every int array is an array('i'). Phrases are given in member order (member nwords + k);
   set_anchor is each requirement set's anchor member. See compiled.py for what each holds. */
static int engine_init(Engine *e, PyObject *args, PyObject *kwds) {
    PyObject *blob, *a[17], *fields, *span_type;
    if (!PyArg_ParseTuple(args, "SOOOOOOOOOOOOOOOOOOO", &blob, &a[0], &a[1], &a[2], &a[3],
                          &a[4], &a[5], &a[6], &a[7], &a[8], &a[9], &a[10], &a[11], &a[12],
                          &a[13], &a[14], &a[15], &a[16], &fields, &span_type))
        return -1;
    if (e->blob || e->built) {
        PyErr_SetString(PyExc_RuntimeError, "Engine is built once");
        return -1;
    }
    if (!PyTuple_Check(fields) || PyTuple_GET_SIZE(fields) != NFIELDS ||
        !PyType_Check(span_type) ||
        !PyType_IsSubtype((PyTypeObject *)span_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "fields: a tuple of 4 names; span_type: a tuple type");
        return -1;
    }
    for (int i = 0; i < NFIELDS; i++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(fields, i))) {
            PyErr_SetString(PyExc_TypeError, "fields: a tuple of 4 names");
            return -1;
        }
    Py_ssize_t nblob = PyBytes_GET_SIZE(blob);
    e->blob = PyMem_Malloc((size_t)(nblob ? nblob : 1));
    if (!e->blob) { PyErr_NoMemory(); return -1; }
    memcpy(e->blob, PyBytes_AS_STRING(blob), (size_t)nblob);

    Py_ssize_t n[17];
    int32_t *phrase_first = NULL, *set_anchor = NULL, *set_rule = NULL, *set_off = NULL,
            *set_n = NULL;
    int32_t **dest[17] = {&e->word_off, &e->word_len, &phrase_first, &e->phrase_words_off,
                          &e->phrase_len,
                          &e->phrase_words, &e->stem_off, &e->stem_len, &set_anchor,
                          &set_rule, &set_off, &set_n, &e->set_members, &e->always,
                          &e->code, &e->rule_code, NULL};
    const char *names[17] = {"word_off", "word_len", "phrase_first", "phrase_words_off",
                             "phrase_len", "phrase_words", "stem_off", "stem_len",
                             "set_anchor", "set_rule", "set_off", "set_n", "set_members",
                             "always", "code", "rule_code", "first_only"};
    int32_t *first_only = NULL;
    dest[16] = &first_only;
    int rc = -1;
    for (int i = 0; i < 17; i++)
        if (!(*dest[i] = copy_ints(a[i], &n[i], names[i]))) goto done;
    e->nwords = (int32_t)n[0];
    e->nphrases = (int32_t)n[2];
    e->nstems = (int32_t)n[6];
    e->nmembers = e->nwords + e->nphrases + e->nstems;
    e->nrules = (int32_t)n[15];
    e->nalways = (int32_t)n[13];
    e->ncode = n[14];
    if (n[1] != n[0] || n[3] != n[2] || n[4] != n[2] || n[7] != n[6] || n[9] != n[8] ||
        n[10] != n[8] || n[11] != n[8] || n[16] != n[15]) {
        PyErr_SetString(PyExc_ValueError, "arrays of different lengths");
        goto done;
    }
    for (int32_t k = 0; k < e->nwords; k++)
        if (e->word_off[k] < 0 || e->word_len[k] < 1 || e->word_off[k] + (Py_ssize_t)e->word_len[k] > nblob) {
            PyErr_SetString(PyExc_ValueError, "word out of the blob");
            goto done;
        }
    e->max_stem = 0;
    for (int32_t k = 0; k < e->nstems; k++) {
        if (e->stem_off[k] < 0 || e->stem_len[k] < 1 || e->stem_off[k] + (Py_ssize_t)e->stem_len[k] > nblob) {
            PyErr_SetString(PyExc_ValueError, "stem out of the blob");
            goto done;
        }
        if (e->stem_len[k] > e->max_stem) e->max_stem = e->stem_len[k];
    }
    if (dict_build(&e->words, e->blob, e->word_off, e->word_len, e->nwords) < 0 ||
        dict_build(&e->stems, e->blob, e->stem_off, e->stem_len, e->nstems) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    e->stem_length = PyMem_Calloc((size_t)e->max_stem + 1, 1);
    if (!e->stem_length) { PyErr_NoMemory(); goto done; }
    for (int32_t k = 0; k < e->nstems; k++) e->stem_length[e->stem_len[k]] = 1;

    /* phrases, in a table by the hash of their key: their first KEY words' ids at most */
    Py_ssize_t nphrase_words = n[5];
    e->phrase_keys = PyMem_Calloc((size_t)e->nwords + 1, sizeof(uint32_t));
    if (!e->phrase_keys) { PyErr_NoMemory(); goto done; }
    {
        uint64_t size = 16;
        while (size < (uint64_t)e->nphrases * 2 + 1) size <<= 1;
        e->phrases.mask = size - 1;
        e->phrases.hashes = PyMem_Calloc(size, sizeof(uint64_t));
        e->phrases.ids = PyMem_Malloc(size * sizeof(int32_t));
        if (!e->phrases.hashes || !e->phrases.ids) { PyErr_NoMemory(); goto done; }
        for (uint64_t i = 0; i < size; i++) e->phrases.ids[i] = -1;
    }
    for (int32_t k = 0; k < e->nphrases; k++) {
        int32_t len = e->phrase_len[k], off = e->phrase_words_off[k];
        if (len < 2 || off < 0 || off + (Py_ssize_t)len > nphrase_words ||
            phrase_first[k] < 0 || phrase_first[k] >= e->nwords ||
            e->phrase_words[off] != phrase_first[k]) {
            PyErr_SetString(PyExc_ValueError, "bad phrase");
            goto done;
        }
        uint64_t h = 1469598103934665603ULL;
        for (int32_t w = 0; w < len; w++) {
            int32_t id = e->phrase_words[off + w];
            if (id < 0 || id >= e->nwords) {
                PyErr_SetString(PyExc_ValueError, "bad phrase word");
                goto done;
            }
            if (w < KEY) h = step(h, id);
        }
        int32_t key = len < KEY ? len : KEY;
        e->phrase_keys[phrase_first[k]] |= 1u << key;
        uint64_t i = h & e->phrases.mask;
        while (e->phrases.ids[i] != -1) i = (i + 1) & e->phrases.mask;
        e->phrases.hashes[i] = h;
        e->phrases.ids[i] = k;
    }

    /* requirement sets, grouped by anchor (CSR) */
    Py_ssize_t nsets = n[8], nset_members = n[12];
    e->set_start = PyMem_Calloc((size_t)e->nmembers + 1, sizeof(int32_t));
    e->set_rule = PyMem_Malloc(((size_t)nsets + 1) * sizeof(int32_t));
    e->set_off = PyMem_Malloc(((size_t)nsets + 1) * sizeof(int32_t));
    e->set_n = PyMem_Malloc(((size_t)nsets + 1) * sizeof(int32_t));
    if (!e->set_start || !e->set_rule || !e->set_off || !e->set_n) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t s = 0; s < nsets; s++) {
        set_anchor[s] = member_of(e, set_anchor[s]);
        if (set_anchor[s] < 0 || set_rule[s] < 0 ||
            set_rule[s] >= e->nrules || set_n[s] < 0 || set_off[s] < 0 ||
            set_off[s] + (Py_ssize_t)set_n[s] > nset_members) {
            PyErr_SetString(PyExc_ValueError, "bad requirement set");
            goto done;
        }
        e->set_start[set_anchor[s] + 1]++;
    }
    for (Py_ssize_t m = 0; m < nset_members; m++)
        if ((e->set_members[m] = member_of(e, e->set_members[m])) < 0) {
            PyErr_SetString(PyExc_ValueError, "bad requirement member");
            goto done;
        }
    for (int32_t m = 0; m < e->nmembers; m++) e->set_start[m + 1] += e->set_start[m];
    {
        int32_t *fill = PyMem_Malloc(((size_t)e->nmembers + 1) * sizeof(int32_t));
        if (!fill) { PyErr_NoMemory(); goto done; }
        memcpy(fill, e->set_start, ((size_t)e->nmembers + 1) * sizeof(int32_t));
        for (Py_ssize_t s = 0; s < nsets; s++) {
            int32_t at = fill[set_anchor[s]]++;
            e->set_rule[at] = set_rule[s];
            e->set_off[at] = set_off[s];
            e->set_n[at] = set_n[s];
        }
        PyMem_Free(fill);
    }
    for (int32_t k = 0; k < e->nalways; k++)
        if (e->always[k] < 0 || e->always[k] >= e->nrules) {
            PyErr_SetString(PyExc_ValueError, "bad rule in always");
            goto done;
        }

    /* programs */
    e->first_only = PyMem_Malloc((size_t)e->nrules + 1);
    if (!e->first_only) { PyErr_NoMemory(); goto done; }
    /* the code is the rules' queries one after the other: each checked once */
    uint8_t *starts = PyMem_Calloc((size_t)e->ncode + 1, 1);
    if (!starts) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t at = 0; at < e->ncode; at += e->code[at + 1]) {
        if (validate(e, at, e->ncode, 0) < 0) { PyMem_Free(starts); goto done; }
        starts[at] = 1;
    }
    for (int32_t r = 0; r < e->nrules; r++) {
        e->first_only[r] = first_only[r] != 0;
        int32_t at = e->rule_code[r];
        if (at == -1) continue;
        if (at < 0 || at >= e->ncode || !starts[at]) {
            PyMem_Free(starts);
            PyErr_SetString(PyExc_ValueError, "a rule's program is not a query's start");
            goto done;
        }
        if (e->first_only[r] && (e->code[at] != OP_TERM || e->code[at + 3] < 0)) {
            PyMem_Free(starts);
            PyErr_SetString(PyExc_ValueError, "first_only on a rule that is not one exact term");
            goto done;
        }
    }
    PyMem_Free(starts);

    e->member_stamp = PyMem_Calloc((size_t)e->nmembers + 1, sizeof(uint32_t));
    e->member_head = PyMem_Malloc(((size_t)e->nmembers + 1) * sizeof(int32_t));
    e->member_tail = PyMem_Malloc(((size_t)e->nmembers + 1) * sizeof(int32_t));
    e->rule_stamp = PyMem_Calloc((size_t)e->nrules + 1, sizeof(uint32_t));
    e->present = PyMem_Malloc(((size_t)e->nmembers + 1) * sizeof(int32_t));
    e->cand = PyMem_Malloc(((size_t)e->nrules + 1) * sizeof(int32_t));
    if (!e->member_stamp || !e->member_head || !e->member_tail || !e->rule_stamp ||
        !e->present || !e->cand) {
        PyErr_NoMemory();
        goto done;
    }
    e->gen = 0;
    for (int i = 0; i < NFIELDS; i++) {
        e->field_names[i] = PyTuple_GET_ITEM(fields, i);
        Py_INCREF(e->field_names[i]);
    }
    e->span_type = span_type;
    Py_INCREF(span_type);
    e->built = 1;
    rc = 0;
done:
    PyMem_Free(phrase_first);
    PyMem_Free(set_anchor);
    PyMem_Free(set_rule);
    PyMem_Free(set_off);
    PyMem_Free(set_n);
    PyMem_Free(first_only);
    return rc;
}

/* -- one item ----------------------------------------------------------------------------- */

static int grow(void **p, int32_t *cap, int32_t need, size_t item) {
    if (need <= *cap) return 0;
    int32_t size = *cap ? *cap : 64;
    while (size < need) {
        if (size > INT32_MAX / 2) return -1;
        size *= 2;
    }
    void *q = PyMem_Realloc(*p, (size_t)size * item);
    if (!q) return -1;
    *p = q;
    *cap = size;
    return 0;
}

static int occur(Item *it, int32_t member, int32_t token) {
    Engine *e = it->e;
    if (it->nocc == it->occ_cap) {
        int32_t cap = it->occ_cap;
        if (grow((void **)&it->occ_token, &cap, it->nocc + 1, sizeof(int32_t)) < 0) return -1;
        cap = it->occ_cap;
        if (grow((void **)&it->occ_next, &cap, it->nocc + 1, sizeof(int32_t)) < 0) return -1;
        it->occ_cap = cap;
    }
    int32_t k = it->nocc++;
    it->occ_token[k] = token;
    it->occ_next[k] = -1;
    if (e->member_stamp[member] != e->gen) {
        e->member_stamp[member] = e->gen;
        e->member_head[member] = k;
        it->present[it->npresent++] = member; /* present has room for every member */
    } else {
        it->occ_next[e->member_tail[member]] = k;
    }
    e->member_tail[member] = k;
    return 0;
}

/* Split the item's words, and record every occurrence of a rule word, phrase and prefix. */
static int scan(Item *it, const char *s, Py_ssize_t len) {
    Engine *e = it->e;
    /* at most (len + 1) / 2 words: each is at least one byte and a space */
    int32_t cap = (int32_t)(len / 2 + 2);
    it->tok_off = PyMem_Malloc((size_t)cap * sizeof(int32_t));
    it->tok_len = PyMem_Malloc((size_t)cap * sizeof(int32_t));
    it->tok_word = PyMem_Malloc((size_t)cap * sizeof(int32_t));
    it->tok_field = PyMem_Malloc((size_t)cap * sizeof(int32_t));
    it->tok_index = PyMem_Malloc((size_t)cap * sizeof(int32_t));
    it->tok_gap = PyMem_Malloc((size_t)cap);
    if (!it->tok_off || !it->tok_len || !it->tok_word || !it->tok_field || !it->tok_index ||
        !it->tok_gap)
        return -1;
    int32_t field = 0, index = 0, n = 0;
    Py_ssize_t i = 0;
    it->first_tok[0] = 0;
    while (i < len) {
        if (s[i] == ' ') { i++; continue; }
        Py_ssize_t start = i;
        uint64_t h = 1469598103934665603ULL;
        int word = (uint8_t)s[i] > FIELD_END; /* not the field end, not the gap ("\x00") */
        while (i < len && s[i] != ' ') {
            h ^= (uint8_t)s[i];
            h *= 1099511628211ULL;
            i++;
            Py_ssize_t l = i - start;
            if (word && l <= e->max_stem && e->stem_length[l]) {
                int32_t st = dict_find(&e->stems, e->blob, e->stem_off, h, s + start, (int32_t)l);
                if (st >= 0 && occur(it, e->nwords + e->nphrases + st, n) < 0) return -1;
            }
        }
        Py_ssize_t l = i - start;
        if (l == 1 && s[start] == FIELD_END) {
            field++;
            if (field < NFIELDS) it->first_tok[field] = n;
            index = 0;
            continue;
        }
        if (n >= cap || l > INT32_MAX || start > INT32_MAX) return -1;
        it->tok_off[n] = (int32_t)start;
        it->tok_len[n] = (int32_t)l;
        it->tok_field[n] = field < NFIELDS ? field : NFIELDS - 1;
        it->tok_index[n] = index++;
        it->tok_gap[n] = (l == 1 && s[start] == 0);
        int32_t w = dict_find(&e->words, e->blob, e->word_off, h, s + start, (int32_t)l);
        it->tok_word[n] = w;
        n++;
        if (w >= 0 && occur(it, w, n - 1) < 0) return -1;
    }
    it->ntok = n;
    for (int f = field + 1; f <= NFIELDS; f++) it->first_tok[f] = n;
    /* phrases: where a word that starts one stands, the hash of it and the words after it,
       for each key length a phrase starting with it has, looked up in the table */
    for (int32_t t = 0; t < n; t++) {
        int32_t w = it->tok_word[t];
        if (w < 0 || !e->phrase_keys[w]) continue;
        uint32_t keys = e->phrase_keys[w];
        uint64_t h = step(1469598103934665603ULL, w);
        for (int32_t len = 2; len <= KEY && (keys >> len); len++) {
            int32_t u = t + len - 1;
            if (u >= n || it->tok_field[u] != it->tok_field[t] || it->tok_word[u] < 0) break;
            h = step(h, it->tok_word[u]);
            if (!(keys & (1u << len))) continue;
            for (uint64_t i = h & e->phrases.mask; e->phrases.ids[i] != -1;
                 i = (i + 1) & e->phrases.mask) {
                if (e->phrases.hashes[i] != h) continue;
                int32_t k = e->phrases.ids[i], plen = e->phrase_len[k];
                if (t + plen > n || it->tok_field[t + plen - 1] != it->tok_field[t]) continue;
                const int32_t *pw = e->phrase_words + e->phrase_words_off[k];
                int32_t m = 0;
                while (m < plen && it->tok_word[t + m] == pw[m]) m++;
                if (m == plen && occur(it, e->nwords + k, t) < 0) return -1;
            }
        }
    }
    return 0;
}

static int push(Spans *out, int32_t field, int32_t start, int32_t end) {
    if (out->n == out->cap) {
        Py_ssize_t cap = out->cap ? out->cap * 2 : 32;
        Span *v = PyMem_Realloc(out->v, (size_t)cap * sizeof(Span));
        if (!v) return -1;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n].field = field;
    out->v[out->n].start = start;
    out->v[out->n].end = end;
    out->n++;
    return 0;
}

static int stem_at(Item *it, int32_t t, int32_t stem) {
    Engine *e = it->e;
    int32_t l = e->stem_len[stem];
    return it->tok_len[t] >= l && memcmp(it->text + it->tok_off[t], e->blob + e->stem_off[stem], (size_t)l) == 0;
}

/* A term's spans in the fields of ``mask``; ``first``: stop at the first. */
static int term(Item *it, const int32_t *c, int32_t mask, Spans *out, int first) {
    Engine *e = it->e;
    int32_t member = c[3], nparts = c[4];
    const int32_t *parts = c + 5;
    int exact = member >= 0;
    if (!exact) /* the first part's occurrences, then the parts after it */
        member = parts[0] == PART_WORD ? parts[1] : e->nwords + e->nphrases + parts[1];
    if (e->member_stamp[member] != e->gen) return 0;
    for (int32_t k = e->member_head[member]; k >= 0; k = it->occ_next[k]) {
        int32_t t = it->occ_token[k], f = it->tok_field[t];
        if (!(mask & (1 << f))) continue;
        /* (an exact term's member is its whole phrase: checked again, defence in depth) */
        if (t + nparts > it->ntok || it->tok_field[t + nparts - 1] != f) continue;
        if (!exact) {
            int32_t p = 1;
            for (; p < nparts; p++) {
                int32_t u = t + p, kind = parts[2 * p], id = parts[2 * p + 1];
                if (it->tok_gap[u]) break;
                if (kind == PART_WORD && it->tok_word[u] != id) break;
                if (kind == PART_PREFIX && !stem_at(it, u, id)) break;
            }
            if (p < nparts) continue;
        }
        if (push(out, f, it->tok_index[t], it->tok_index[t] + nparts) < 0) return -1;
        if (first) break;
    }
    return 0;
}

static int eval(Item *it, const int32_t *c, int within, Spans *out);

static int32_t scope(int32_t own, int within) {
    return within < 0 ? own : own & (1 << within);
}

static int alias(Item *it, const int32_t *c, int within, Spans *out) {
    int32_t mask = scope(c[2], within), nterms = c[3], nexcl = c[4];
    Py_ssize_t n0 = out->n;
    const int32_t *p = c + 5;
    for (int32_t k = 0; k < nterms; k++, p += p[1])
        if (term(it, p, mask, out, 0) < 0) return -1;
    if (out->n == n0 || nexcl == 0) return out->n > n0;
    /* context words right before or right after a match refuse it ("Imran" before "Khan") */
    Spans context = {NULL, 0, 0};
    for (int32_t k = 0; k < nexcl; k++, p += p[1])
        if (term(it, p, mask, &context, 0) < 0) { PyMem_Free(context.v); return -1; }
    Py_ssize_t kept = n0;
    for (Py_ssize_t i = n0; i < out->n; i++) {
        Span s = out->v[i];
        int refused = 0;
        for (Py_ssize_t j = 0; j < context.n && !refused; j++) {
            Span x = context.v[j];
            refused = x.field == s.field && (x.end == s.start || x.start == s.end);
        }
        if (!refused) out->v[kept++] = s;
    }
    PyMem_Free(context.v);
    out->n = kept;
    return kept > n0;
}

static int close_to(Span a, Span b, int32_t distance, int ordered) {
    if (a.end <= b.start) return b.start - a.end <= distance;
    if (b.end <= a.start) return !ordered && a.start - b.end <= distance;
    return 0; /* overlapping spans are the same words */
}

/* NEAR between operands holding no NEAR: each match of a side is one span, field by field. */
static int near(Item *it, const int32_t *c, int within, Spans *out) {
    int32_t distance = c[2], ordered = c[3];
    const int32_t *left = c + 4, *right = left + left[1];
    Py_ssize_t n0 = out->n;
    Spans l = {NULL, 0, 0}, r = {NULL, 0, 0};
    int rc = 0;
    for (int f = 0; f < 3; f++) {
        if (within >= 0 && f != within) continue;
        l.n = r.n = 0;
        int got = eval(it, left, f, &l);
        if (got < 0) { rc = -1; break; }
        if (!got) continue;
        got = eval(it, right, f, &r);
        if (got < 0) { rc = -1; break; }
        if (!got) continue;
        /* each span that stands close to one of the other side's, once: a span per pair
           would grow as the square of a repeated word's count under a wide NEAR */
        uint8_t *used = PyMem_Calloc((size_t)(l.n + r.n), 1);
        if (!used) { rc = -1; break; }
        for (Py_ssize_t i = 0; i < l.n; i++)
            for (Py_ssize_t j = 0; j < r.n; j++)
                if (close_to(l.v[i], r.v[j], distance, ordered)) used[i] = used[l.n + j] = 1;
        for (Py_ssize_t i = 0; i < l.n + r.n && rc == 0; i++) {
            Span x = i < l.n ? l.v[i] : r.v[i - l.n];
            if (used[i] && push(out, x.field, x.start, x.end) < 0) rc = -1;
        }
        PyMem_Free(used);
        if (rc < 0) break;
    }
    PyMem_Free(l.v);
    PyMem_Free(r.v);
    if (rc < 0) return -1;
    return out->n > n0;
}

/* 1 when the node matches (its spans appended to ``out``), 0 when not (``out`` as it was),
   -1 when out of memory. ``within``: a field index (inside a NEAR) or -1. */
static int eval(Item *it, const int32_t *c, int within, Spans *out) {
    Py_ssize_t n0 = out->n;
    switch (c[0]) {
    case OP_TERM:
        if (term(it, c, scope(c[2], within), out, 0) < 0) return -1;
        return out->n > n0;
    case OP_ALIAS:
        return alias(it, c, within, out);
    case OP_AND: {
        const int32_t *p = c + 3;
        for (int32_t k = 0; k < c[2]; k++, p += p[1]) {
            int got = eval(it, p, within, out);
            if (got <= 0) {
                out->n = n0;
                return got;
            }
        }
        return 1;
    }
    case OP_OR: {
        int any = 0;
        const int32_t *p = c + 3;
        for (int32_t k = 0; k < c[2]; k++, p += p[1]) {
            int got = eval(it, p, within, out);
            if (got < 0) return -1;
            any |= got;
        }
        return any;
    }
    case OP_NOT: {
        int got = eval(it, c + 2, within, out);
        out->n = n0;
        return got < 0 ? -1 : !got;
    }
    case OP_NEAR:
        return near(it, c, within, out);
    }
    return 0; /* (validated: not reached) */
}

static int compare_int(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int compare_span(const void *a, const void *b) {
    const Span *x = a, *y = b;
    if (x->field != y->field) return x->field < y->field ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static void item_free(Item *it) {
    PyMem_Free(it->tok_off);
    PyMem_Free(it->tok_len);
    PyMem_Free(it->tok_word);
    PyMem_Free(it->tok_field);
    PyMem_Free(it->tok_index);
    PyMem_Free(it->tok_gap);
    PyMem_Free(it->occ_token);
    PyMem_Free(it->occ_next);
    for (int f = 0; f < 3; f++) {
        PyMem_Free(it->run_start[f]);
        PyMem_Free(it->run_end[f]);
    }
}

/* The candidate rules, sorted, into ``cand`` (room for every rule). */
static int32_t candidates(Item *it, int32_t *cand) {
    Engine *e = it->e;
    int32_t n = 0;
    for (int32_t k = 0; k < e->nalways; k++) {
        int32_t r = e->always[k];
        if (e->rule_stamp[r] != e->gen) {
            e->rule_stamp[r] = e->gen;
            cand[n++] = r;
        }
    }
    for (int32_t p = 0; p < it->npresent; p++) {
        int32_t m = it->present[p];
        for (int32_t s = e->set_start[m]; s < e->set_start[m + 1]; s++) {
            int32_t r = e->set_rule[s];
            if (e->rule_stamp[r] == e->gen) continue;
            const int32_t *need = e->set_members + e->set_off[s];
            int32_t k = 0, count = e->set_n[s];
            while (k < count && e->member_stamp[need[k]] == e->gen) k++;
            if (k == count) {
                e->rule_stamp[r] = e->gen;
                cand[n++] = r;
            }
        }
    }
    qsort(cand, (size_t)n, sizeof(int32_t), compare_int);
    return n;
}

static int begin(Engine *e, Item *it, PyObject *everything, const char **text, Py_ssize_t *len) {
    if (!e->built) {
        PyErr_SetString(PyExc_RuntimeError, "Engine not built");
        return -1;
    }
    if (PyBytes_Check(everything)) { /* its UTF-8, when a lone surrogate keeps str from it */
        *text = PyBytes_AS_STRING(everything);
        *len = PyBytes_GET_SIZE(everything);
    } else if (PyUnicode_Check(everything)) {
        *text = PyUnicode_AsUTF8AndSize(everything, len);
        if (!*text) return -1;
    } else {
        PyErr_SetString(PyExc_TypeError, "everything: a str or its UTF-8 bytes");
        return -1;
    }
    if (*len > INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "item too long");
        return -1;
    }
    memset(it, 0, sizeof *it);
    it->e = e;
    it->text = *text;
    if (++e->gen == 0) { /* wrapped: stamps from 2**32 items ago would look current */
        memset(e->member_stamp, 0, (size_t)e->nmembers * sizeof(uint32_t));
        memset(e->rule_stamp, 0, (size_t)e->nrules * sizeof(uint32_t));
        e->gen = 1;
    }
    it->present = e->present;
    return 0;
}

static PyObject *engine_candidates(Engine *e, PyObject *everything) {
    Item it;
    const char *text;
    Py_ssize_t len;
    if (begin(e, &it, everything, &text, &len) < 0) return NULL;
    if (scan(&it, text, len) < 0) {
        item_free(&it);
        return PyErr_NoMemory();
    }
    int32_t n = candidates(&it, e->cand);
    item_free(&it);
    /* a copy: making the list runs Python (a collection), where another thread may match */
    int32_t *cand = PyMem_Malloc(((size_t)n + 1) * sizeof(int32_t));
    if (!cand) return PyErr_NoMemory();
    memcpy(cand, e->cand, (size_t)n * sizeof(int32_t));
    PyObject *list = PyList_New(n);
    for (int32_t k = 0; list && k < n; k++) {
        PyObject *v = PyLong_FromLong(cand[k]);
        if (!v) { Py_CLEAR(list); break; }
        PyList_SET_ITEM(list, k, v);
    }
    PyMem_Free(cand);
    return list;
}

static PyObject *span_tuple(Engine *e, const Span *v, Py_ssize_t n) {
    PyTypeObject *span_type = (PyTypeObject *)e->span_type;
    PyObject *spans = PyTuple_New(n);
    for (Py_ssize_t i = 0; spans && i < n; i++) {
        PyObject *span = span_type->tp_alloc(span_type, 3);
        PyObject *start = PyLong_FromLong(v[i].start), *end = PyLong_FromLong(v[i].end);
        if (!span || !start || !end) {
            Py_XDECREF(span);
            Py_XDECREF(start);
            Py_XDECREF(end);
            Py_CLEAR(spans);
            break;
        }
        PyObject *name = e->field_names[v[i].field];
        Py_INCREF(name);
        PyTuple_SET_ITEM(span, 0, name);
        PyTuple_SET_ITEM(span, 1, start);
        PyTuple_SET_ITEM(span, 2, end);
        PyTuple_SET_ITEM(spans, i, span);
    }
    return spans;
}

static PyObject *int_list(const int32_t *v, int32_t n) {
    PyObject *list = PyList_New(n);
    for (int32_t k = 0; list && k < n; k++) {
        PyObject *x = PyLong_FromLong(v[k]);
        if (!x) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, k, x);
    }
    return list;
}

/* The text a span stands for, as the reader saw it, or NULL with no error set when this
   cannot tell (Python then works it out: matcher.Document.surface). A text field's words
   are found in ``spaced`` (the field's words at their places in the text, every other
   character a space, one added at each end: given only when folding kept every character in
   place), and cut from ``text``; the feed's are its words, joined by spaces. */
static PyObject *surface(Item *it, Span span, PyObject *texts, PyObject *spaced) {
    int32_t n = span.end - span.start;
    if (n < 1 || span.start < 0) return NULL;
    if (span.field == NFIELDS - 1) {
        int32_t t = it->first_tok[span.field] + span.start, u = t + n - 1;
        if (u >= it->first_tok[span.field + 1]) return NULL;
        const char *from = it->text + it->tok_off[t];
        Py_ssize_t size = it->tok_off[u] + it->tok_len[u] - it->tok_off[t];
        return PyUnicode_DecodeUTF8(from, size, "surrogatepass");
    }
    if (texts == NULL || span.field >= PyTuple_GET_SIZE(spaced)) return NULL;
    PyObject *padded = PyTuple_GET_ITEM(spaced, span.field);
    PyObject *text = PyTuple_GET_ITEM(texts, span.field);
    if (!PyUnicode_Check(padded) || !PyUnicode_Check(text) || !PyUnicode_IS_ASCII(padded))
        return NULL;
    int f = span.field;
    if (!it->run_start[f]) { /* where each word of the field stands: one scan, kept */
        const char *p = (const char *)PyUnicode_DATA(padded);
        Py_ssize_t len = PyUnicode_GET_LENGTH(padded), at = 0;
        if (len > INT32_MAX) return NULL;
        it->run_start[f] = PyMem_Malloc(((size_t)len / 2 + 1) * sizeof(int32_t));
        it->run_end[f] = PyMem_Malloc(((size_t)len / 2 + 1) * sizeof(int32_t));
        if (!it->run_start[f] || !it->run_end[f]) return PyErr_NoMemory();
        int32_t k = 0;
        while (at < len) {
            while (at < len && p[at] == ' ') at++;
            if (at == len) break;
            it->run_start[f][k] = (int32_t)at - 1; /* (less the padding's space) */
            while (at < len && p[at] != ' ') at++;
            it->run_end[f][k++] = (int32_t)at - 1;
        }
        it->nruns[f] = k;
    }
    if (span.end > it->nruns[f]) return NULL;
    Py_ssize_t a = it->run_start[f][span.start], b = it->run_end[f][span.end - 1];
    if (a < 0 || b < a || b > PyUnicode_GET_LENGTH(text)) return NULL;
    return PyUnicode_Substring(text, a, b);
}

/* Whether two spans are the same words (case and accents aside: the folded words). */
static int same_words(Item *it, Span a, Span b) {
    int32_t n = a.end - a.start;
    if (n != b.end - b.start) return 0;
    int32_t t = it->first_tok[a.field] + a.start, u = it->first_tok[b.field] + b.start;
    if (t < 0 || u < 0 || t + n > it->ntok || u + n > it->ntok) return 0;
    for (int32_t k = 0; k < n; k++, t++, u++)
        if (it->tok_len[t] != it->tok_len[u] ||
            memcmp(it->text + it->tok_off[t], it->text + it->tok_off[u], (size_t)it->tok_len[t]))
            return 0;
    return 1;
}

/* The matched terms of a group of spans (sorted by field, start, end; no repeats), as
   matcher.matched_terms gives them: a span inside a longer matched span dropped, the same
   words once, in reading order; NULL with no error set when a text cannot be cut here. */
static PyObject *group_terms(Item *it, const Span *v, Py_ssize_t m, PyObject *texts,
                             PyObject *spaced) {
    Span *kept = PyMem_Malloc((size_t)m * sizeof(Span));
    if (!kept) return PyErr_NoMemory();
    Py_ssize_t nk = 0;
    int32_t field = -1, reach = -1;
    for (Py_ssize_t i = 0; i < m; i++) { /* fields come in reading order, each sorted */
        Span x = v[i];
        if (x.field == field) {
            if (x.end <= reach) continue; /* inside a longer one: adds nothing */
            if (x.start == kept[nk - 1].start) { /* a longer one from the same word */
                kept[nk - 1] = x;
                reach = x.end;
                continue;
            }
        } else {
            field = x.field;
        }
        reach = x.end;
        kept[nk++] = x;
    }
    PyObject *terms = PyList_New(0);
    for (Py_ssize_t i = 0; terms && i < nk; i++) {
        int seen = 0;
        for (Py_ssize_t j = 0; j < i && !seen; j++) seen = same_words(it, kept[j], kept[i]);
        if (seen) continue;
        PyObject *word = surface(it, kept[i], texts, spaced);
        if (!word || PyList_Append(terms, word) < 0) Py_CLEAR(terms);
        Py_XDECREF(word);
    }
    PyMem_Free(kept);
    if (!terms) return NULL;
    PyObject *tuple = PyList_AsTuple(terms);
    Py_DECREF(terms);
    return tuple;
}

/* match(everything[, texts, spaced]) -> (rules, groups, spans, terms): the rules the item
   matches, in rule order; for each, the index of what it matched in ``spans`` and ``terms``
   (rules that matched the same words share one), or -1 for a candidate this engine leaves to
   Python. ``terms[g]`` is the matched terms when their texts could be cut here
   (``group_terms``), with ``spans[g]`` None; else ``spans[g]`` is a tuple of Span (sorted,
   no repeats) for Python to work the terms out of, with ``terms[g]`` None. Nothing
   Python runs between the scan and the end of the evaluation, so the engine's per-item stamps
   cannot be reused mid-item by another thread. */
static PyObject *engine_match(Engine *e, PyObject *args) {
    PyObject *everything, *texts = NULL, *spaced = NULL;
    if (!PyArg_ParseTuple(args, "O|O!O!", &everything, &PyTuple_Type, &texts, &PyTuple_Type,
                          &spaced))
        return NULL;
    if ((texts == NULL) != (spaced == NULL) ||
        (texts && PyTuple_GET_SIZE(texts) != PyTuple_GET_SIZE(spaced))) {
        PyErr_SetString(PyExc_TypeError, "texts and spaced: two tuples of one length");
        return NULL;
    }
    Item it;
    const char *text;
    Py_ssize_t len;
    if (begin(e, &it, everything, &text, &len) < 0) return NULL;
    int32_t *cand = e->cand; /* (used only before any Python object is made) */
    Spans spans = {NULL, 0, 0};
    int32_t *found = NULL, *group = NULL, nfound = 0, ngroups = 0;
    Py_ssize_t *bounds = NULL; /* per group: its range in ``spans`` */
    PyObject *rules = NULL, *groups = NULL, *tuples = NULL, *terms = NULL, *result = NULL;
    if (scan(&it, text, len) < 0) goto nomem;
    int32_t n = candidates(&it, cand);
    found = PyMem_Malloc(((size_t)n + 1) * sizeof(int32_t));
    group = PyMem_Malloc(((size_t)n + 1) * sizeof(int32_t));
    bounds = PyMem_Malloc(((size_t)n + 1) * 2 * sizeof(Py_ssize_t));
    if (!found || !group || !bounds) goto nomem;
    for (int32_t k = 0; k < n; k++) {
        int32_t r = cand[k], at = e->rule_code[r];
        if (at < 0) {
            found[nfound] = r;
            group[nfound++] = -1;
            continue;
        }
        Py_ssize_t n0 = spans.n;
        const int32_t *c = e->code + at;
        int got = e->first_only[r] ? (term(&it, c, c[2], &spans, 1) < 0 ? -1 : spans.n > n0)
                                   : eval(&it, c, -1, &spans);
        if (got < 0) goto nomem;
        if (!got) continue;
        Py_ssize_t m = spans.n - n0;
        if (m > 1) { /* sorted, repeats dropped */
            qsort(spans.v + n0, (size_t)m, sizeof(Span), compare_span);
            Py_ssize_t w = n0 + 1;
            for (Py_ssize_t i = n0 + 1; i < spans.n; i++)
                if (compare_span(&spans.v[i], &spans.v[w - 1]) != 0) spans.v[w++] = spans.v[i];
            spans.n = w;
            m = w - n0;
        }
        int32_t g = 0;
        for (; g < ngroups; g++) /* the same words as an earlier rule's: one group */
            if (bounds[2 * g + 1] - bounds[2 * g] == m &&
                memcmp(spans.v + bounds[2 * g], spans.v + n0, (size_t)m * sizeof(Span)) == 0)
                break;
        if (g == ngroups) {
            bounds[2 * g] = n0;
            bounds[2 * g + 1] = spans.n;
            ngroups++;
        } else {
            spans.n = n0;
        }
        found[nfound] = r;
        group[nfound++] = g;
    }
    /* Python objects only from here on */
    rules = int_list(found, nfound);
    groups = int_list(group, nfound);
    tuples = PyList_New(ngroups);
    terms = PyList_New(ngroups);
    if (!rules || !groups || !tuples || !terms) goto fail;
    for (int32_t g = 0; g < ngroups; g++) {
        Py_ssize_t lo = bounds[2 * g], m = bounds[2 * g + 1] - lo;
        PyObject *cut = group_terms(&it, spans.v + lo, m, texts, spaced);
        if (cut) {
            PyList_SET_ITEM(terms, g, cut);
            Py_INCREF(Py_None);
            PyList_SET_ITEM(tuples, g, Py_None);
            continue;
        }
        if (PyErr_Occurred()) goto fail;
        PyObject *t = span_tuple(e, spans.v + lo, m);
        if (!t) goto fail;
        PyList_SET_ITEM(tuples, g, t);
        Py_INCREF(Py_None);
        PyList_SET_ITEM(terms, g, Py_None);
    }
    result = PyTuple_Pack(4, rules, groups, tuples, terms);
    goto done;
nomem:
    PyErr_NoMemory();
fail:
    Py_CLEAR(result);
done:
    Py_XDECREF(rules);
    Py_XDECREF(groups);
    Py_XDECREF(tuples);
    Py_XDECREF(terms);
    PyMem_Free(found);
    PyMem_Free(group);
    PyMem_Free(bounds);
    PyMem_Free(spans.v);
    item_free(&it);
    return result;
}

static PyMethodDef engine_methods[] = {
    {"match", (PyCFunction)engine_match, METH_VARARGS,
     "match(everything[, texts, spaced]) -> (rules, groups, spans, terms)."},
    {"candidates", (PyCFunction)engine_candidates, METH_O,
     "candidates(everything) -> [rule index]: the rules whose requirements the item holds."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "watcher.rules._engine.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A compiled rule set: presearch and evaluation in C (see compiled.py).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)engine_init,
    .tp_dealloc = (destructor)engine_dealloc,
    .tp_methods = engine_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_engine", "The matching engine's hot path in C.", -1, NULL,
};

PyMODINIT_FUNC PyInit__engine(void) {
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&EngineType);
    if (PyModule_AddObject(m, "Engine", (PyObject *)&EngineType) < 0) {
        Py_DECREF(&EngineType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "PHRASE_BASE", PHRASE_BASE);
    PyModule_AddIntConstant(m, "STEM_BASE", STEM_BASE);
    PyModule_AddIntConstant(m, "OP_TERM", OP_TERM);
    PyModule_AddIntConstant(m, "OP_ALIAS", OP_ALIAS);
    PyModule_AddIntConstant(m, "OP_AND", OP_AND);
    PyModule_AddIntConstant(m, "OP_OR", OP_OR);
    PyModule_AddIntConstant(m, "OP_NOT", OP_NOT);
    PyModule_AddIntConstant(m, "OP_NEAR", OP_NEAR);
    return m;
}
