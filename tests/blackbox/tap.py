"""tap.py - run unittest test cases and report them as TAP for Meson.

Skips are not allowed to pass silently: a skipped test is reported as
"not ok" with the reason, because a test that did not run proves nothing.
"""
import sys
import unittest


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _emit(self, ok, test, note=""):
        self.n += 1
        line = "%s %d - %s" % ("ok" if ok else "not ok", self.n, test.id())
        print(line + (" # " + note if note else ""), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._emit(True, test)

    def _diag(self, err, test):
        text = self._exc_info_to_string(err, test)
        for l in text.rstrip().splitlines():
            print("# " + l)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit(False, test)
        self._diag(err, test)

    def addError(self, test, err):
        super().addError(test, err)
        self._emit(False, test)
        self._diag(err, test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit(False, test, "skipped, which counts as a failure: " + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._emit(False, test, "expected failure is not allowed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit(False, test, "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._emit(False, subtest)
            self._diag(err, test)


def main(module_name="__main__"):
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name])
    print("TAP version 13", flush=True)
    result = TapResult()
    suite.run(result)
    # the plan comes last: a failing subtest adds a line of its own
    print("1..%d" % result.n, flush=True)
    sys.exit(0 if result.wasSuccessful() and not result.skipped else 1)
