"""The files here are launch_testing suites: `launch_test FILE` runs each (test/test_launch_files.py
does, where launch_testing is installed). Plain pytest does not collect them: pytest.ini turns off
launch_testing's pytest plugin, without which a suite's test cases would run with no launch."""
collect_ignore_glob = ["test_*.py"]
