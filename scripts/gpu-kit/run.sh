#!/usr/bin/env bash
# The RAT GPU kit: PyTorch CUDA (fp32 with TF32 off, bf16 autocast) beside the project's tfjs WebGPU pass (Dawn,
# Vulkan) on one random-initialised full-size checkpoint and the same waveforms; prints gpu-results.md. README.md.
#
#   bash run.sh                  # OUT=./out by default; needs python3 with torch (CUDA) and torchaudio, an NVIDIA driver
#
# Knobs: OUT, WORK (room for the checkpoint and its converted weights), PYTHON, REPEATS (10), TORCH_REPEATS (20),
# BUDGET_S (290: every step runs under `timeout` so the whole run ends in time), RAT_BENCH_SIZE=small with DEVICE=cpu
# ALLOW_SOFTWARE=1 for a dry run without a GPU (with VK_ICD_FILENAMES naming a software Vulkan driver).
set -u -o pipefail
KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-./out}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
WORK=${WORK:-${TMPDIR:-/tmp}/rat-gpu-kit}; mkdir -p "$WORK/bin"
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
REPEATS=${REPEATS:-10}; TORCH_REPEATS=${TORCH_REPEATS:-20}
BUDGET_S=${BUDGET_S:-290}
export RAT_WAVES=$KIT/waves.safetensors PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
T0=$(date +%s)
exec > >(tee "$OUT/run.log") 2>&1
log() { printf '[gpu-kit +%3ds] %s\n' $(( $(date +%s) - T0 )) "$*"; }
step() { # name cap command...: runs under a timeout no longer than what is left of the budget
  local name=$1 cap=$2; shift 2
  (( BUDGET_S > 290 )) && cap=$(( cap * BUDGET_S / 290 ))  # a longer budget (a dry run) stretches every cap alike
  local left=$(( BUDGET_S - ($(date +%s) - T0) ))
  local t=$(( cap < left ? cap : left ))
  if (( t < 5 )); then log "no time left for $name"; return 1; fi
  log "== $name (timeout ${t}s): $*"
  timeout -k 5 "$t" "$@"; local rc=$?
  log "== $name: rc $rc"
  return $rc
}
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1" > "$2"; else "$PY" -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"; fi; chmod +x "$2"; }

log "kit $KIT, out $OUT, work $WORK"
[ -x "$WORK/bin/node" ] || unxz_to "$KIT/bin/node.xz" "$WORK/bin/node"
[ -e "$WORK/bin/dawn.node" ] || unxz_to "$KIT/bin/dawn.node.xz" "$WORK/bin/dawn.node"
NODE=$WORK/bin/node
log "node $("$NODE" -v), $("$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# ---- Vulkan: the loader, the NVIDIA driver's ICD and what that library needs
have_lib() { ldconfig -p 2>/dev/null | grep -q "^\s*$1 .*x86-64"; }
if ! have_lib libvulkan.so.1; then log "no Vulkan loader installed: using the kit's (Debian libvulkan1)"; export LD_LIBRARY_PATH=$KIT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}; fi
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  NVR=${NVIDIA_ROOT:-/usr/local/nvidia}
  ICD=$(ls /etc/vulkan/icd.d/nvidia_icd*.json /usr/share/vulkan/icd.d/nvidia_icd*.json "$NVR"/share/vulkan/icd.d/nvidia_icd*.json "$NVR"/etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)
  NVLIB=$(ldconfig -p 2>/dev/null | awk '$1=="libGLX_nvidia.so.0" {print $NF; exit}')
  [ -z "$NVLIB" ] && NVLIB=$(timeout 20 find "$NVR" /usr/lib /usr/lib64 /usr/local/lib /run/nvidia -maxdepth 5 -name libGLX_nvidia.so.0 2>/dev/null | head -1)
  if [ -z "$ICD" ] && [ -n "$NVLIB" ]; then
    ICD=$WORK/nvidia_icd.json
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "$NVLIB" > "$ICD"
  fi
  if [ -n "$ICD" ]; then export VK_ICD_FILENAMES=$ICD; log "Vulkan driver: $ICD -> ${NVLIB:-its library}"; else log "WARNING: no NVIDIA Vulkan driver found (container without the 'graphics' driver capability?)"; fi
  if [ -n "$NVLIB" ]; then
    NVDIR=$(dirname "$(readlink -f "$NVLIB")")
    ldconfig -p | grep -q "$NVDIR/" || export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$NVDIR
    missing=$(ldd "$NVLIB" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
    if [ -n "$missing" ]; then log "the driver library misses: $missing; adding the kit's copies"; export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$KIT/lib/extra; fi
  fi
fi
step probe 30 "$NODE" "$KIT/kit.cjs" probe --dawn "$WORK/bin/dawn.node" | tee "$OUT/adapter.json"

# ---- the checkpoint (the project's full_size.py, seeded), PyTorch on the GPU, the project's converter
step checkpoint 150 "$PY" "$KIT/py/full_size.py" --dir "$WORK" --seconds 1 --repeats 1 > /dev/null
for p in fp32 $([ "$DEVICE" = cuda ] && echo bf16); do
  step "torch-$p" 60 "$PY" "$KIT/py/torch_bench.py" --dir "$WORK" --out "$OUT/torch-$p.json" --device "$DEVICE" --precision "$p" \
    --repeats "$TORCH_REPEATS" --batch 0 --seconds 4,12
done
[ -s "$WORK/weights/model.json" ] && [ "$WORK/weights/model.json" -nt "$WORK/rat-full.pt" ] || \
  step convert 90 "$NODE" --max-old-space-size=8192 "$KIT/kit.cjs" convert "$WORK/rat-full.pt" "$WORK/weights"

# ---- tfjs WebGPU, the product's load (warm-up included), then the same clips
NVPID=""
if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 > "$OUT/nvidia-smi-mb.txt" & NVPID=$!; fi
step webgpu 120 "$NODE" --max-old-space-size=8192 "$KIT/kit.cjs" webgpu --dawn "$WORK/bin/dawn.node" --weights "$WORK/weights" \
  --clips "$WORK/bench-clips.safetensors" --out "$OUT/webgpu.json" --repeats "$REPEATS" ${ALLOW_SOFTWARE:+--allow-software}
[ -n "$NVPID" ] && kill "$NVPID" 2>/dev/null && log "nvidia-smi peak while WebGPU ran: $(sort -n "$OUT/nvidia-smi-mb.txt" | tail -1) MB"

"$PY" "$KIT/report.py" "$OUT"
log "done in $(( $(date +%s) - T0 )) s"
