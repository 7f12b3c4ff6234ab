# The two commands of the README's quick start, and the pieces they are made of.
#   make demo      install what building and running need, build snug, write the demo model, serve it
#   make test      install the test toolchain too, build everything, run the whole suite (CI)
#   make install   build snug and install it under PREFIX (default /usr/local)
.PHONY: demo test setup setup-app build build-app install uninstall build-asan build-arm64 \
        build-fuzz test-release test-asan test-arm64 test-fuzz test-slow bench bench-models clean

JOBS ?= $(shell nproc)
DEMO_MODEL ?= models/demo.gguf
DEMO_PORT ?= 8080
FUZZ_SECONDS ?= 30
PREFIX ?= /usr/local
SNUG_APP = ./build/app/src/cli/snug
SAFETENSORS_FUZZ_SECONDS ?= 10
GRAMMAR_FUZZ_SECONDS ?= 10
HTTP_FUZZ_SECONDS ?= 10
MEDIA_FUZZ_SECONDS ?= 10

# The demo model has random weights: the text is gibberish, the machinery is real.
demo: setup-app build-app
	@mkdir -p models
	test -f $(DEMO_MODEL) || $(SNUG_APP) make-model gemma3-tiny --vocab builtin \
	  --type q8_0 -o $(DEMO_MODEL)
	@echo
	@echo "snug is serving $(DEMO_MODEL) on http://127.0.0.1:$(DEMO_PORT). Try, from another terminal:"
	@echo "  curl http://127.0.0.1:$(DEMO_PORT)/v1/chat/completions -H 'Content-Type: application/json' \\"
	@echo "    -d '{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":32}'"
	@echo "Ctrl-C stops it."
	@echo
	$(SNUG_APP) serve $(DEMO_MODEL) --port $(DEMO_PORT)

test: setup test-release test-asan test-arm64 test-fuzz

# Packages to build and run snug (setup-app), and the test toolchain besides (setup).
setup-app:
	./scripts/setup.sh

setup:
	./scripts/setup.sh --test

# Only the snug binary (no tests: no GoogleTest needed).
build-app:
	cmake --preset app >/dev/null
	cmake --build build/app -j $(JOBS) --target snug

install: build-app
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(SNUG_APP) $(DESTDIR)$(PREFIX)/bin/snug
	@echo "installed $(DESTDIR)$(PREFIX)/bin/snug"

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/snug

build:
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS)

build-asan:
	cmake --preset asan >/dev/null
	cmake --build build/asan -j $(JOBS)

build-arm64:
	cmake --preset arm64 >/dev/null
	cmake --build build/arm64 -j $(JOBS)

build-fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build build/fuzz -j $(JOBS) --target gguf_fuzz safetensors_fuzz grammar_fuzz \
	  http_request_fuzz image_fuzz audio_fuzz

test-release: build
	ctest --test-dir build/release --output-on-failure -j $(JOBS) -LE slow

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build/asan --output-on-failure -j $(JOBS) -LE 'slow|reference'

test-arm64: build-arm64
	ctest --test-dir build/arm64 --output-on-failure -j $(JOBS)

test-fuzz: build-fuzz
	./scripts/fuzz.sh build/fuzz/fuzz/gguf_fuzz $(FUZZ_SECONDS)
	./scripts/fuzz.sh build/fuzz/fuzz/safetensors_fuzz $(SAFETENSORS_FUZZ_SECONDS)
	./scripts/fuzz.sh build/fuzz/fuzz/grammar_fuzz $(GRAMMAR_FUZZ_SECONDS)
	./scripts/fuzz.sh build/fuzz/fuzz/http_request_fuzz $(HTTP_FUZZ_SECONDS)
	./scripts/fuzz.sh build/fuzz/fuzz/image_fuzz $(MEDIA_FUZZ_SECONDS)
	./scripts/fuzz.sh build/fuzz/fuzz/audio_fuzz $(MEDIA_FUZZ_SECONDS)

# Checks on multi-GB models: run by hand, reported in closing notes.
test-slow: build
	ctest --test-dir build/release --output-on-failure -L slow

bench: build
	./scripts/bench.sh

# snug against llama.cpp on real-shape synthetic files (by hand, on a quiet machine; hours for
# the 12B and 20B files on 2 cores): prefill, decode, decode as a share of the bandwidth, peak
# RSS, engines alternating; big files are deleted after their rows. The README's Performance
# table comes from it. Long context: make bench-models BENCH_ARGS="--prefill 8192 --decode 32".
BENCH_SMALL = gemma3-1b:q4_0,gemma3-1b:q8_0,gemma3-1b:q4_k_m,llama-3.2-1b:q4_0,llama-3.2-1b:q4_k_m
BENCH_MODELS ?= $(BENCH_SMALL),gemma4-12b:q4_0,gemma4-12b:q4_k_m,gemma4-12b:q8_0,gptoss-20b:mxfp4
BENCH_REPS ?= 5
BENCH_ARGS ?=
bench-models: build
	node bench/runtime_vs_llama.mjs --snug build/release/src/cli/snug --make $(BENCH_MODELS) \
	  --reps $(BENCH_REPS) --mlock --delete-made --table $(BENCH_ARGS)

clean:
	rm -rf build
