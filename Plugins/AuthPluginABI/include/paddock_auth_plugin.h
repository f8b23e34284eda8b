/*
 * Paddock's C ABI for out-of-tree auth schemes.
 *
 * A plugin is a shared library (written in C, Swift with @_cdecl, Rust, ... anything that can
 * export a C symbol) loaded at start-up by `authProvider.N=/path/to/libplugin.so` in zoo.cfg.
 * It exports one function, PADDOCK_AUTH_PLUGIN_ENTRY, returning a description of the scheme.
 * The server checks `abi_version` and refuses to start on a mismatch. The description and the
 * strings it points to must stay valid for the life of the process (the library is never
 * unloaded). Paddock calls the functions from one thread at a time.
 */
#ifndef PADDOCK_AUTH_PLUGIN_H
#define PADDOCK_AUTH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define PADDOCK_AUTH_PLUGIN_ABI_VERSION 1u
#define PADDOCK_AUTH_PLUGIN_ENTRY "paddock_auth_plugin_v1"
/* Room for the id an authenticate call writes, terminating NUL included. */
#define PADDOCK_AUTH_PLUGIN_ID_BYTES_MAX 1024u

typedef struct paddock_auth_plugin {
    /* PADDOCK_AUTH_PLUGIN_ABI_VERSION of the header the plugin was built with. */
    uint32_t abi_version;
    /* The scheme clients name in addauth and in ACL ids, e.g. "token". */
    const char *scheme;
    /* Nonzero if ids name users, so the `auth` ACL scheme may use them (as digest; ip is not). */
    int is_authenticated;
    /* Turns `addauth <scheme> <auth>` bytes into one id: writes it NUL-terminated into id_out
     * (capacity id_capacity) and returns 0, or returns nonzero to refuse (the client then gets
     * AuthFailed and its connection closes). */
    int (*authenticate)(const uint8_t *auth, size_t auth_length, const char *remote_host,
                        char *id_out, size_t id_capacity);
    /* Nonzero if an authenticated id satisfies an ACL entry's id expression of this scheme. */
    int (*matches)(const char *id, const char *expression);
    /* Nonzero if an ACL entry's id expression is well-formed for this scheme. */
    int (*is_valid)(const char *expression);
} paddock_auth_plugin;

typedef const paddock_auth_plugin *(*paddock_auth_plugin_entry_fn)(void);

/* The ABI version the server was built with, to compare with a plugin's. */
extern const uint32_t paddock_auth_plugin_abi_version;

#endif
