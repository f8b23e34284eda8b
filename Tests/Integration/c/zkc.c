/*
 * zkc: a tiny driver over the ZooKeeper C client (libzookeeper_mt) for the
 * integration tests.  Built at test time by test_c_client.py.
 *
 * usage: zkc host:port < commands
 * One command per line, tokens separated by single spaces.  "-" as data
 * means NULL.  Each command prints exactly one line: its name, rc=<int>,
 * err=<zerror text> and key=value fields.  Watch events print
 * as events=<type>:<state>:<path>,... in the line of the `wait` that collects them.
 *
 *   create <path> <data> <flags>      (flags: ZOO_EPHEMERAL=1, SEQUENCE=2)
 *   create2 <path> <data> <flags>     prints the new node's stat too
 *   get <path> [watch]                data as hex, stat
 *   set <path> <data> <version>
 *   delete <path> <version>
 *   exists <path> [watch]
 *   ls <path> [watch]                 children, comma-separated
 *   multi_create_dup <path>           multi: create <path>, create <path>
 *   session                           session id in hex
 *   wait <count> <seconds>            waits for <count> watch events
 */

#define THREADED 1 /* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

#define EVENTS_MAX 64
#define LINE_BYTES_MAX 4096
#define DATA_BYTES_MAX 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int connected = 0;
static int expired = 0;
static struct { int type, state; char path[512]; } events[EVENTS_MAX];
static int events_count = 0;
static int events_printed = 0;

static void deadline_in(struct timespec *ts, int seconds) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += seconds;
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)path; (void)ctx;
    pthread_mutex_lock(&lock);
    if (type == ZOO_SESSION_EVENT) {
        if (state == ZOO_CONNECTED_STATE) connected = 1;
        if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) expired = 1;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void node_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh; (void)ctx;
    pthread_mutex_lock(&lock);
    if (events_count < EVENTS_MAX) {
        events[events_count].type = type;
        events[events_count].state = state;
        snprintf(events[events_count].path, sizeof events[0].path, "%s", path ? path : "");
        events_count++;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void print_stat(const struct Stat *s) {
    printf(" czxid=%lld mzxid=%lld ctime=%lld mtime=%lld version=%d cversion=%d aversion=%d"
           " ephemeralOwner=%lld dataLength=%d numChildren=%d pzxid=%lld",
           (long long)s->czxid, (long long)s->mzxid, (long long)s->ctime, (long long)s->mtime,
           s->version, s->cversion, s->aversion, (long long)s->ephemeralOwner,
           s->dataLength, s->numChildren, (long long)s->pzxid);
}

/* zerror text with spaces turned into '_' so each field stays one token */
static void print_rc(const char *cmd, int rc) {
    printf("%s rc=%d err=", cmd, rc);
    for (const char *p = zerror(rc); *p; p++) putchar(*p == ' ' ? '_' : *p);
}

static const char *data_arg(const char *tok, int *len) {
    if (tok == NULL || strcmp(tok, "-") == 0) { *len = -1; return NULL; }
    *len = (int)strlen(tok);
    return tok;
}

static int wants_watch(const char *tok) { return tok != NULL && strcmp(tok, "watch") == 0; }

static void run(zhandle_t *zh, char *line) {
    char *save = NULL;
    char *cmd = strtok_r(line, " ", &save);
    char *a1 = strtok_r(NULL, " ", &save);
    char *a2 = strtok_r(NULL, " ", &save);
    char *a3 = strtok_r(NULL, " ", &save);
    if (cmd == NULL) return;

    if (strcmp(cmd, "create") == 0 || strcmp(cmd, "create2") == 0) {
        char created[1024] = "";
        struct Stat stat;
        int len;
        const char *data = data_arg(a2, &len);
        int flags = a3 ? atoi(a3) : 0;
        int rc = strcmp(cmd, "create2") == 0
            ? zoo_create2(zh, a1, data, len, &ZOO_OPEN_ACL_UNSAFE, flags, created, sizeof created, &stat)
            : zoo_create(zh, a1, data, len, &ZOO_OPEN_ACL_UNSAFE, flags, created, sizeof created);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            printf(" path=%s", created);
            if (strcmp(cmd, "create2") == 0) print_stat(&stat);
        }
    } else if (strcmp(cmd, "get") == 0) {
        static char buf[DATA_BYTES_MAX];
        int len = sizeof buf;
        struct Stat stat;
        int rc = wants_watch(a2) ? zoo_wget(zh, a1, node_watcher, NULL, buf, &len, &stat)
                                 : zoo_get(zh, a1, 0, buf, &len, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            printf(" len=%d data=", len);
            for (int i = 0; i < len; i++) printf("%02x", (unsigned char)buf[i]);
            print_stat(&stat);
        }
    } else if (strcmp(cmd, "set") == 0) {
        struct Stat stat;
        int len;
        const char *data = data_arg(a2, &len);
        int rc = zoo_set2(zh, a1, data, len, a3 ? atoi(a3) : -1, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) print_stat(&stat);
    } else if (strcmp(cmd, "delete") == 0) {
        print_rc(cmd, zoo_delete(zh, a1, a2 ? atoi(a2) : -1));
    } else if (strcmp(cmd, "exists") == 0) {
        struct Stat stat;
        int rc = wants_watch(a2) ? zoo_wexists(zh, a1, node_watcher, NULL, &stat)
                                 : zoo_exists(zh, a1, 0, &stat);
        print_rc(cmd, rc);
        if (rc == ZOK) print_stat(&stat);
    } else if (strcmp(cmd, "ls") == 0) {
        struct String_vector children = {0, NULL};
        int rc = wants_watch(a2) ? zoo_wget_children(zh, a1, node_watcher, NULL, &children)
                                 : zoo_get_children(zh, a1, 0, &children);
        print_rc(cmd, rc);
        if (rc == ZOK) {
            printf(" count=%d children=", children.count);
            for (int i = 0; i < children.count; i++) printf("%s%s", i ? "," : "", children.data[i]);
            deallocate_String_vector(&children);
        }
    } else if (strcmp(cmd, "multi_create_dup") == 0) {
        zoo_op_t ops[2];
        zoo_op_result_t results[2];
        char b1[1024], b2[1024];
        zoo_create_op_init(&ops[0], a1, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, b1, sizeof b1);
        zoo_create_op_init(&ops[1], a1, "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, b2, sizeof b2);
        int rc = zoo_multi(zh, 2, ops, results);
        print_rc(cmd, rc);
        printf(" op0=%d op1=%d", results[0].err, results[1].err);
    } else if (strcmp(cmd, "session") == 0) {
        const clientid_t *id = zoo_client_id(zh);
        printf("session rc=0 err=ok id=%llx", (long long)id->client_id);
    } else if (strcmp(cmd, "wait") == 0) {
        int want = a1 ? atoi(a1) : 1;
        struct timespec ts;
        deadline_in(&ts, a2 ? atoi(a2) : 10);
        pthread_mutex_lock(&lock);
        while (events_count - events_printed < want) {
            if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) break;
        }
        int got = events_count - events_printed;
        printf("wait rc=%d err=%s count=%d events=", got >= want ? 0 : -7, got >= want ? "ok" : "timeout", got);
        for (int first = 1; events_printed < events_count; events_printed++, first = 0) {
            printf("%s%d:%d:%s", first ? "" : ",", events[events_printed].type,
                   events[events_printed].state, events[events_printed].path);
        }
        pthread_mutex_unlock(&lock);
    } else {
        printf("%s rc=-999 err=unknown-command", cmd);
    }
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s host:port < commands\n", argv[0]);
        return 2;
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(argv[1], session_watcher, 10000, NULL, NULL, 0);
    if (zh == NULL) {
        perror("zookeeper_init");
        return 1;
    }
    struct timespec ts;
    deadline_in(&ts, 15);
    pthread_mutex_lock(&lock);
    while (!connected && !expired) {
        if (pthread_cond_timedwait(&changed, &lock, &ts) == ETIMEDOUT) break;
    }
    int ok = connected;
    pthread_mutex_unlock(&lock);
    if (!ok) {
        fprintf(stderr, "zkc: not connected within 15s\n");
        zookeeper_close(zh);
        return 1;
    }
    printf("connected rc=0 err=ok\n");
    fflush(stdout);

    char line[LINE_BYTES_MAX];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        run(zh, line);
    }
    int rc = zookeeper_close(zh);
    print_rc("close", rc);
    printf("\n");
    return 0;
}
