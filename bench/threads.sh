# Sourced by bench/run.sh and bench/run_train.sh: the thread setup both sides of a benchmark share.
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
