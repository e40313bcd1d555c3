"""Nav2's lifecycle managers: ``lifecycle_manager_navigation`` and
``lifecycle_manager_localization``, each serving ``<manager>/manage_nodes``
(nav2_msgs/srv/ManageLifecycleNodes, what BasicNavigator's ``lifecycleStartup()`` and
``lifecycleShutdown()`` call) and ``<manager>/is_active`` (std_srvs/Trigger), over the states of
sim/nav2/lifecycle.py. ``fail_all`` on ``<manager>.manage_nodes`` answers ``success: false`` and
changes nothing.
"""
from nav2_msgs.srv import ManageLifecycleNodes
from std_srvs.srv import Trigger

from sim.nav2.lifecycle import COMMANDS


class Manager:
    def __init__(self, stack, name: str):
        self.stack, self.name = stack, name
        self.node = stack.nodes[name]
        self.faults = stack.faults_for(f"{name}.manage_nodes", "service")
        self.node.create_service(ManageLifecycleNodes, "~/manage_nodes", self._manage, callback_group=stack.clock.group)
        self.node.create_service(Trigger, "~/is_active", self._is_active)

    async def _manage(self, request, response):
        if self.faults.response_delay > 0:
            await self.stack.clock.sleep(self.faults.response_delay)
        command = COMMANDS.get(request.command, (str(request.command),))[0]
        reason = "injected fault: fail_all" if self.faults.fail_all else \
            self.stack.lifecycle.command(self.name, request.command)
        logger = self.node.get_logger()
        if reason:
            logger.warning(f"{command} failed: {reason}")
        else:
            logger.info(f"{command}: {', '.join(self.stack.lifecycle.managers[self.name])} now "
                        f"{self.stack.lifecycle.state(self.stack.lifecycle.managers[self.name][0])}")
        response.success = not reason
        return response

    def _is_active(self, request, response):
        response.success = self.stack.lifecycle.all_active(self.name)
        response.message = "active" if response.success else "not all managed nodes are active"
        return response
