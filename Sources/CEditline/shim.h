// libedit's readline-compatible API (BSD-licensed): line editing and history for `paddock cli`.
#include <stdio.h>
#include <editline/readline.h>
