"""What people and scripts use to drive the executive: the ``mission`` command line (``cli``),
``mission run`` (``runner``), its live terminal view (``live``), ``mission report`` (``report``),
child processes (``launcher``) and the scripting API (``api``, ``client``)."""
