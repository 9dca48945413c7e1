import os
os.environ.setdefault('IN_TEST', '1')  # the same switch nbdev_test sets: no worker processes, no progress bars

def pytest_configure(config):
    # `pytest -m quality`: only the gates on the shipped weights' quality (the judge's accuracy, the encoders'
    # zero-shot, the pipeline drawing the digit asked for); CI runs them with everything else
    config.addinivalue_line('markers', 'quality: a quality gate on the shipped weights, measured with the judge')
