"""Configuration of a simulated robot: the packaged defaults with a user's file merged over them."""
import pathlib

from ruamel.yaml import YAML

DEFAULT_CONFIG = pathlib.Path(__file__).with_name("default_config.yaml")


class ConfigError(ValueError):
    pass


# A robot's joints, poses and docks are its own: a user's list replaces the default one whole.
REPLACED_SECTIONS = ("arm.joints", "arm.named_poses", "nav2.docks")


def _merge(base: dict, override: dict, where: str) -> dict:
    merged = dict(base)
    for key, value in override.items():
        path = f"{where}.{key}" if where else key
        # faults: the servers' knobs are checked by sim.faults, which knows them.
        if key not in base and path.split(".")[0] != "faults":
            raise ConfigError(f"unknown setting {path}")
        if isinstance(value, dict) and isinstance(base.get(key), dict) and path not in REPLACED_SECTIONS:
            merged[key] = _merge(base[key], value, path)
        else:
            merged[key] = value
    return merged


def load_config(path=None) -> dict:
    yaml = YAML(typ="safe")
    config = yaml.load(DEFAULT_CONFIG.read_text())
    if path:
        text = pathlib.Path(path).read_text()
        user = yaml.load(text) or {}
        if not isinstance(user, dict):
            raise ConfigError(f"{path}: the configuration must be a mapping")
        try:
            config = _merge(config, user, "")
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return config
