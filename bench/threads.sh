# Sourced by bench/run.sh and bench/run_train.sh: the thread setup both sides of a benchmark share, and the peer's allocator.
# THREADS=n (default 1) pins to cores 0..n-1 ($cpus) and sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS,
# VARSCOPE_NUM_THREADS and the peers' torch threads (PEER_THREADS) to n.
# With more than one thread each side runs under the OpenMP wait policy that is best for it
# (docs/benchmarks.md, "Two threads"): PyTorch's OpenMP workers spinning (ACTIVE) fight its
# OpenBLAS pthreads for the two cores (medium beam 450 ms vs 186 ms PASSIVE), so the peer gets
# PASSIVE ($peer_wait); varscope's one team (OpenBLAS held at one thread) opens a region per step,
# and sleeping workers cost a wake-up each time (seed beam 1.9 ms PASSIVE vs 0.8 ms ACTIVE), so
# varscope gets libomp's default, ACTIVE ($ours_wait). OURS_WAIT_POLICY / PEER_WAIT_POLICY override.
threads=${THREADS:-1}
cpus=$([ "$threads" = 1 ] && echo 0 || echo "0-$((threads - 1))")
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads VARSCOPE_NUM_THREADS=$threads PEER_THREADS=$threads
ours_wait=${OURS_WAIT_POLICY:-ACTIVE}
peer_wait=${PEER_WAIT_POLICY:-PASSIVE}
if [ "$threads" = 1 ]; then ours_wait=${OURS_WAIT_POLICY:-}; peer_wait=${PEER_WAIT_POLICY:-}; fi
# The peer's allocator. glibc's malloc hands every block over 128 KiB (growing to 32 MiB) to mmap and
# returns it to the kernel on free, so each PyTorch temporary of that size is page-faulted afresh;
# page faults are expensive on this VM, and the 1-thread seed training peer spent 76-80 ms per step
# (15-17 ms with these settings, 2026-12-05). A PyTorch user tuning for CPU swaps in jemalloc or
# tcmalloc, or keeps glibc from unmapping: these keep blocks up to 32 MiB in the heap and stop trims.
# varscope's side caches its large tensor blocks itself (:tensor). PEER_MALLOC=default turns it off.
if [ "${PEER_MALLOC:-tuned}" = default ]; then peer_malloc=""
else peer_malloc="MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456"; fi
