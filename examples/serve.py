# Start the llama.cpp server embedded in the xllamacpp wheel on loopback (127.0.0.1 only),
# print its address, and keep running until killed.
#     python serve.py MODEL.gguf [PORT] [N_CTX] [N_THREADS]
# PORT 0 (the default) lets the OS choose a free port; the first line printed is
# "LISTEN http://127.0.0.1:<port>".
# Copied from the project's llama-server recipe so that examples/ has no run-time dependency on it.
import sys
import time

import xllamacpp as xlc

p = xlc.CommonParams()
p.model.path = sys.argv[1]
p.port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
p.n_ctx = int(sys.argv[3]) if len(sys.argv) > 3 else 2048
p.n_parallel = 1
p.hostnames = ["127.0.0.1"]
p.cpuparams.n_threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
p.use_jinja = True  # chat template from the GGUF
srv = xlc.Server(p)
print("LISTEN", srv.listening_address, flush=True)
while True:
    time.sleep(3600)
