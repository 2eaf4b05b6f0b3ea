# Libraries of the helpers that need their own (see the Makefile).
# enet_bench: ENet's reliable channel, the comparison row of `make bench`
# (Debian's libenet-dev, installed by tools/deps.sh).
HELPER_LIBS_enet_bench := -lenet -lpthread
# srt_bench: SRT file mode, the other comparison row (Debian's libsrt-openssl-dev).
HELPER_LIBS_srt_bench := -lsrt
