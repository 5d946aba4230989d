"""tth-gateway: the mail policy gateway of Thừa Thiên Huế's state agencies."""

import warnings

# pyHanko imports cryptography's DSA key type, which cryptography marks deprecated; the
# gateway never uses DSA. Without this every command and every process starts with it.
warnings.filterwarnings("ignore", message="DSA is deprecated", category=UserWarning)
