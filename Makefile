# The two commands of the README's quick start, and the pieces they are made of.
#   make demo   install, build, write the demo model, run snug on it
#   make test   install, build, run the whole suite (what CI runs)
.PHONY: demo test setup build build-asan build-arm64 build-fuzz test-release test-asan \
        test-arm64 test-fuzz test-slow bench clean

JOBS ?= $(shell nproc)
DEMO_MODEL ?= models/demo.gguf
DEMO_PORT ?= 8080
FUZZ_SECONDS ?= 30

# The demo model has random weights: the text is gibberish, the machinery is real.
demo: setup build
	@mkdir -p models
	test -f $(DEMO_MODEL) || ./build/release/src/cli/snug make-model gemma3-tiny --vocab gemma3 \
	  --type q8_0 -o $(DEMO_MODEL)
	@echo
	@echo "snug is serving $(DEMO_MODEL) on http://127.0.0.1:$(DEMO_PORT). Try, from another terminal:"
	@echo "  curl http://127.0.0.1:$(DEMO_PORT)/v1/chat/completions -H 'Content-Type: application/json' \\"
	@echo "    -d '{\"model\":\"demo\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}],\"max_tokens\":32}'"
	@echo "Ctrl-C stops it."
	@echo
	./build/release/src/cli/snug serve $(DEMO_MODEL) --port $(DEMO_PORT)

test: setup test-release test-asan test-arm64 test-fuzz

setup:
	./scripts/setup.sh

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
	cmake --build build/fuzz -j $(JOBS) --target gguf_fuzz

test-release: build
	ctest --test-dir build/release --output-on-failure -j $(JOBS) -LE slow

test-asan: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build/asan --output-on-failure -j $(JOBS) -LE 'slow|reference'

test-arm64: build-arm64
	ctest --test-dir build/arm64 --output-on-failure -j $(JOBS)

test-fuzz: build-fuzz
	./scripts/fuzz.sh build/fuzz/fuzz/gguf_fuzz $(FUZZ_SECONDS)

# Checks on multi-GB models: run by hand, reported in closing notes.
test-slow: build
	ctest --test-dir build/release --output-on-failure -L slow

bench: build
	./scripts/bench.sh

clean:
	rm -rf build
