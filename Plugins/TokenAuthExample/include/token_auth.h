/* The example plugin exports only the ABI's entry point. */
#ifndef PADDOCK_TOKEN_AUTH_H
#define PADDOCK_TOKEN_AUTH_H
#include "paddock_auth_plugin.h"
const paddock_auth_plugin *paddock_auth_plugin_v1(void);
#endif
