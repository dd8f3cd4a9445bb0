/* A minimal JSON reader for linkd's spec file and control requests: objects,
 * arrays, strings (with the usual escapes; \u below 0x80 only), numbers,
 * true/false/null. Small on purpose: the inputs come from the lab itself. */
#ifndef LINKD_JSON_H
#define LINKD_JSON_H
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_TRUE, J_FALSE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } jtype;

typedef struct json {
    jtype type;
    double num;
    char *str;            /* J_STRING value */
    char *key;            /* member name inside an object */
    struct json *child;   /* first element / member */
    struct json *next;
} json_t;

static const char *jp;
static int jdepth;

static void json_free(json_t *j) {
    while (j) {
        json_t *n = j->next;
        json_free(j->child);
        free(j->str); free(j->key); free(j);
        j = n;
    }
}

static void jws(void) { while (*jp && isspace((unsigned char)*jp)) jp++; }

static char *jstring(void) {
    if (*jp != '"') return NULL;
    jp++;
    size_t cap = 32, n = 0;
    char *s = malloc(cap);
    while (*jp && *jp != '"') {
        char c = *jp++;
        if (c == '\\') {
            c = *jp++;
            switch (c) {
            case 'n': c = '\n'; break; case 't': c = '\t'; break; case 'r': c = '\r'; break;
            case 'b': c = '\b'; break; case 'f': c = '\f'; break;
            case 'u': {
                char h[5] = {0};
                for (int i = 0; i < 4; i++) { if (!isxdigit((unsigned char)*jp)) { free(s); return NULL; } h[i] = *jp++; }
                long v = strtol(h, NULL, 16);
                c = v < 0x80 ? (char)v : '?';
                break;
            }
            case '"': case '\\': case '/': break;
            default: free(s); return NULL;
            }
        } else if ((unsigned char)c < 0x20) { free(s); return NULL; }
        if (n + 2 > cap) { cap *= 2; s = realloc(s, cap); }
        s[n++] = c;
    }
    if (*jp != '"') { free(s); return NULL; }
    jp++;
    s[n] = 0;
    return s;
}

static json_t *jvalue(void) {
    if (++jdepth > 64) return NULL;
    jws();
    json_t *j = calloc(1, sizeof *j);
    if (*jp == '{' || *jp == '[') {
        char close = *jp == '{' ? '}' : ']';
        j->type = *jp == '{' ? J_OBJECT : J_ARRAY;
        jp++; jws();
        json_t **tail = &j->child;
        if (*jp == close) { jp++; jdepth--; return j; }
        for (;;) {
            char *key = NULL;
            if (j->type == J_OBJECT) {
                jws();
                if (!(key = jstring())) goto bad;
                jws();
                if (*jp++ != ':') { free(key); goto bad; }
            }
            json_t *v = jvalue();
            if (!v) { free(key); goto bad; }
            v->key = key;
            *tail = v; tail = &v->next;
            jws();
            if (*jp == ',') { jp++; continue; }
            if (*jp == close) { jp++; break; }
            goto bad;
        }
    } else if (*jp == '"') {
        j->type = J_STRING;
        if (!(j->str = jstring())) goto bad;
    } else if (!strncmp(jp, "true", 4)) { j->type = J_TRUE; jp += 4; }
    else if (!strncmp(jp, "false", 5)) { j->type = J_FALSE; jp += 5; }
    else if (!strncmp(jp, "null", 4)) { j->type = J_NULL; jp += 4; }
    else {
        char *end;
        j->num = strtod(jp, &end);
        if (end == jp) goto bad;
        j->type = J_NUMBER; jp = end;
    }
    jdepth--;
    return j;
bad:
    json_free(j);
    return NULL;
}

/* Parse a whole text; NULL if it is not exactly one JSON value. */
static json_t *json_parse(const char *text) {
    jp = text; jdepth = 0;
    json_t *j = jvalue();
    if (!j) return NULL;
    jws();
    if (*jp) { json_free(j); return NULL; }
    return j;
}

static json_t *json_get(json_t *obj, const char *key) {
    if (!obj || obj->type != J_OBJECT) return NULL;
    for (json_t *m = obj->child; m; m = m->next) if (m->key && !strcmp(m->key, key)) return m;
    return NULL;
}

static const char *json_str(json_t *j) { return j && j->type == J_STRING ? j->str : NULL; }

/* Escape text for a JSON string body. */
static void json_escape(const char *in, char *out, size_t n) {
    size_t k = 0;
    for (; in && *in && k + 7 < n; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') { out[k++] = '\\'; out[k++] = (char)c; }
        else if (c < 0x20) k += (size_t)snprintf(out + k, n - k, "\\u%04x", c);
        else out[k++] = (char)c;
    }
    out[k] = 0;
}
#endif
