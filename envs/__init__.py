"""The simulated robot. `import envs` registers MobileVLA/Pick-v0, Navigate-v0, Place-v0 and BoxNav-v0 with Gymnasium."""
import gymnasium

from envs.task_names import TASK_IDS

for _name, _id in TASK_IDS.items():
    if _id not in gymnasium.registry:
        gymnasium.register(id=_id, entry_point="envs.mobile_vla_env:MobileVLAEnv", kwargs={"task": _name})
